// Package extract turns a raw RFC 5322 message into plain-text units for the
// classifier, within hard budgets.
//
// [Extract] walks the MIME tree of a message: every text part (any charset,
// quoted-printable or base64), HTML turned to text, the Subject, nested
// message/rfc822 parts, S/MIME signed-only content, and attachments: PDF,
// DOCX, XLSX, PPTX, ODF text/spreadsheet/presentation, RTF, CSV, plain text,
// zip and gzip archives, and TNEF winmail.dat. Each piece of text becomes a
// [Unit] whose Where names its place in the message ("body",
// "attachment 3/zip entry 1 (text/csv)") and never a file name, since file
// names can themselves be patient information.
//
// What cannot be read is reported in [Result.Skipped] with a reason:
// "encrypted" for password-protected zip entries, OOXML and PDF files,
// PGP/MIME, inline PGP armor, S/MIME enveloped data and age files; and
// "unscannable" for images, unknown binaries, legacy binary Office files,
// malformed files and anything cut short by a budget. The policy decides
// what either means.
//
// # Budgets
//
// [Limits] bounds the text produced, the bytes inflated from compressed
// streams, the nesting depth, the number of parts and archive entries, and
// the wall-clock time. Every extractor in this package is written here and
// checks its budgets and the context inside its loops: a goroutine cannot be
// killed, so nothing runs in one. Parsers from the standard library and
// golang.org/x/net/html only ever read through budgeted readers. When a
// budget is hit, [Result.Truncated] is set, the part that hit it is also
// reported as skipped ("unscannable"), and whatever text was extracted up to
// that point is kept. A panic in the extractor of one part is recovered and
// reported as "unscannable" for that part; extraction goes on with the next.
//
// The PDF reader is a small one of our own, aimed at recall of words rather
// than layout: it indexes objects by scanning for "obj" (so broken
// cross-reference tables do not matter), inflates FlateDecode streams within
// the budget, reads object streams, maps fonts to their ToUnicode CMaps and
// collects the text shown by Tj, TJ, ' and " (including in form XObjects),
// then the values of filled-in form fields, annotation comments and the
// document information. It does not decrypt: a PDF with an /Encrypt entry
// is reported as encrypted.
//
// Both halves of a multipart/alternative are extracted ("body" and
// "body/html"), so the same words can be found twice; a consumer counting
// findings per message should allow for that.
package extract
