// Package policy decides what Sealpost does with each recipient of an
// outbound message: seal it, seal it only to the recipient's own key, deliver
// it over verified TLS, pass it, or reject it — and records why.
//
// The package is pure: it does no network I/O and never talks to Vault. The
// relay builds an [Input] for each message and asks [Engine.Decide] for a
// [Decision], which holds one [Outcome] per envelope recipient, in order, and
// an explanation ([Decision.JSON]) for the message store and the audit log.
//
// # The policy file
//
// Admins own a YAML file (see deploy/policy.example.yaml for an annotated
// one). [Parse] and [Load] validate it strictly: unknown fields, unknown
// actions, bad durations, empty or duplicate rule names and the like are
// errors that name the field, the rule and its line. The top-level fields:
//
//   - version (required): 1.
//   - mode: "enforce" (default) or "monitor". In monitor mode every decision
//     is worked out and recorded, but the relay passes the mail — except that
//     sender signals still seal (see below).
//   - subject_tags: tags such as "[secure]" that ask for sealing. They are
//     matched case-insensitively anywhere in the Subject, after decoding
//     RFC 2047 encoded words; the raw Subject is searched too.
//   - defaults: assurance ("oob", the default, or "mailbox", which is lower
//     assurance and labelled as such), oob_factor, read_receipt, retention
//     (default 30d; "0" keeps a sealed message until it is recalled) and
//     allow_direct (default true: recipients with their own age key may
//     skip the portal).
//   - oob_factor says what a recipient proves out of band to enrol in the
//     portal for a message with assurance oob: "any" (the default) is a
//     code sent by SMS when the sender supplied a phone number for that
//     recipient (an X-Sealpost-Recipient-Phone header), and otherwise the
//     enrollment code an admin reads with `sealpost message show` and
//     passes on; "sms" accepts only the SMS code (a recipient without a
//     number cannot enrol); "code" accepts only the enrollment code. Setting
//     it next to assurance mailbox is an error: a mailbox link needs no
//     second factor.
//   - read_receipt (default false) has the portal tell the sender when
//     each recipient first opens the message.
//   - internal_domains: the organisation's own domains ("example.org", or
//     "*.example.org" for its subdomains). A recipient outside them is
//     external (see external_recipient). Empty or absent: every recipient
//     is external.
//   - rules: the ordered list of rules.
//   - default (required): the action for recipients no rule matched.
//
// Each rule has a name (required, unique, letters, digits, '.', '_' and '-';
// "default" is reserved), an optional description, a when (required; {}
// matches every message), an action, reject_text (only with reject:
// printable ASCII on one line, at most 200 characters, since it goes into an
// SMTP reply), and optional assurance, oob_factor, read_receipt, retention
// and allow_direct overrides. Recipients whose settings differ get separate
// sealed copies.
//
// Durations are Go durations ("12h", "1h30m") or whole days and weeks
// ("30d", "2w"), at most 100 years.
//
// # Conditions
//
// All conditions in one when must hold (AND); for a list, any entry may match
// (OR). Conditions about recipients are evaluated per recipient, so one
// message can get different outcomes for different recipients.
//
//   - subject_tag: true or false.
//   - header: a map from header name to values. A header matches if any of its
//     occurrences equals any value, compared case-insensitively after
//     trimming and RFC 2047 decoding; "*" matches any value. With several
//     headers, each must match.
//   - msip_label: Microsoft Information Protection label names or GUIDs, read
//     from the msip_labels header; labels with Enabled=false do not count.
//   - sender, recipient: envelope addresses, compared case-insensitively.
//   - sender_domain, recipient_domain: "example.org" matches that domain
//     only; "*.example.org" matches its subdomains but not itself.
//     Internationalised domains match in U-label and A-label form.
//   - encrypted: true or false; whether the message is already end-to-end
//     encrypted (see [DetectEncrypted] and [SniffEncrypted]).
//   - tls, authenticated: how the client submitted the message.
//   - detector: a list of {name, min_score, min_count}; matches when the named
//     [Detector] found at least min_count (default 1) items with a score of at
//     least min_score. Detectors are plugged in with [WithDetectors]; an
//     [Analyzer] among them provides every name in its Names. Naming a
//     detector that is neither registered nor one of [BuiltinDetectorNames]
//     is a validation error.
//   - unscannable: true or false; whether a part could not be scanned (an
//     image, an unknown binary, a malformed file, or a part cut short by a
//     scanning budget).
//   - encrypted_attachment: true or false; whether a part is password
//     protected or encrypted (zip, OOXML or PDF with a password, PGP, S/MIME,
//     age) inside the message.
//   - attachment_type: short attachment types such as pdf, docx, xlsx, zip,
//     image, text; matches when the message has any of them.
//   - external_recipient: true or false; whether the recipient's domain is
//     outside internal_domains.
//
// The content conditions (detector, unscannable, encrypted_attachment,
// attachment_type) need the classifier of package policy/classify, which
// the relay always registers. A policy compiled without it (a tool that only
// validates the file, or [Default] with no options) accepts the built-in
// names, never matches them, and lists them in [Engine.Missing].
//
// # Sender signals only raise protection
//
// A rule is a sender signal if its action is seal or seal-direct and its
// when uses subject_tag: true, header or msip_label. For each recipient the
// engine finds both the first matching rule and the first matching sender
// signal. If the first matching rule (or the default) says pass or
// require-tls and a sender signal matched, the sender signal decides
// instead, whatever the order of the rules; [Outcome.Overridden] names the
// rule it overrode. A reject still rejects, and another seal is kept. So a
// sender who writes "[secure]" is never sent in the clear by a later edit to
// the policy. In monitor mode a sender signal's seal is carried out too.
//
// # Already-encrypted mail
//
// The shipped default policy ([Default]) seals on subject tags, on
// X-Sealpost-Encrypt and on a Private or Confidential Sensitivity header; it
// seals mail whose PHI score (the "phi" finding of the classifier) is 0.5 or
// more, and unscannable or encrypted content bound for external recipients.
// It passes mail that is already end-to-end encrypted: its body is ciphertext the
// recipient can open, and sealing it again would only send the recipient
// through the portal. A sender signal still seals such a message, because
// PGP and S/MIME leave the Subject and other headers in the clear. When the
// relay gives [Input.Open], Decide does not trust a Content-Type alone: the
// body must check out as ciphertext ([SniffEncrypted]), so that a header
// claiming encryption over a plaintext body is classified as plaintext.
//
// # Reloading
//
// A [Holder] keeps the policy in force. It reloads on SIGHUP and when the
// file's modification time or size changes ([Holder.Watch]). A file that does
// not validate is refused: the previous policy stays in force and the failure
// is logged at error level. Every [Decision] carries the digest of the policy
// that made it.
package policy
