// Package render prepares a decrypted message for the portal: it shows the
// message to its recipient safely, serves its attachments and composes a
// secure reply. It is pure: no network, no Vault, no state. Every message is
// taken as hostile.
//
// # Reading a message
//
// [Parse] walks the MIME tree of the complete original message (RFC 5322,
// with go-message) and returns a [View]: the decoded header values, the
// text body, the sanitised HTML body and the [Part]s. [OpenPart] walks the
// same way and returns one part's bytes, with the same metadata, so a part's
// index is stable for the same message bytes.
//
// Bodies are the text/plain and text/html entities that are not
// attachments. In a multipart/alternative the HTML alternative gives
// View.HTML and the text/plain one View.Text; the other multiparts (mixed,
// related, signed, digest, unknown kinds) show their bodies one after the
// other. A message with only HTML gets a plain-text rendering of it in
// View.Text. Every charset go-message knows is converted to UTF-8; an
// unknown one is shown with replacement characters.
//
// Parts are every other leaf: entities with Content-Disposition
// attachment, non-text entities, and text entities with a file name. An
// attached message (message/rfc822) is named after its Subject with
// ".eml". Part names are decoded (RFC 2231 and RFC 2047) and cleaned by
// [CleanName]. A part is Raster when its declared type is PNG, JPEG, GIF or
// WebP and http.DetectContentType agrees; SVG never is, since it can carry
// script. A part is Inline when the HTML body shows it as an image.
//
// # HTML
//
// HTML is sanitised by bluemonday with a UGC-like policy: formatting,
// lists, tables and links are kept; links are http, https and mailto only,
// with rel="nofollow noreferrer" (and target="_blank" rel="noopener" when
// they name a host). Images are kept only when their src is a cid:
// reference to a raster part of the message, and that src is rewritten to
// the portal's URL for the part. Nothing else that loads a resource
// survives: no remote images, srcset, background attributes, style
// elements or style attributes (so no CSS url()), script, event handlers,
// forms, frames, object, embed, svg, meta or base. View.HTML is a fragment
// for the portal to put in a sandboxed iframe, served with a
// Content-Security-Policy of its own.
//
// The portal must serve a part's bytes as an attachment
// (Content-Disposition: attachment, X-Content-Type-Options: nosniff),
// except an Inline Raster image, which it may serve inline as its
// ContentType: a part's declared type (text/html, say) is the sender's
// choice.
//
// # Bounds
//
// Raw messages over [MaxMessageSize] are refused. Multiparts nest at most
// [MaxDepth] deep and at most [MaxParts] entities are read; the decoded
// bytes of all parts together are bounded by twice the raw size. Malformed
// MIME (a missing or wrong boundary, a broken header, bad base64) gives a
// view of whatever could be read, with View.Incomplete set so the portal
// can offer the original for download; Parse never panics on input.
//
// # Replying
//
// [ComposeReply] writes a [Reply] as an RFC 5322 message with CRLF line
// ends: a text/plain UTF-8 quoted-printable body, inside multipart/mixed
// with base64 attachments and RFC 2231 file names when there are any.
// Header values are RFC 2047 encoded where needed; a CR or LF (or any other
// control character) in any header field is refused with an error wrapping
// [ErrLineBreak], so a reply cannot inject header fields.
package render
