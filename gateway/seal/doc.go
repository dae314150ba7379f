// Package seal turns an original message into the message Sealpost
// delivers: age ciphertext of the complete original, wrapped in an envelope
// that says only how to open it.
//
// # Sealing
//
// [Encrypt] streams the original through [StripHeaders], which removes Bcc,
// Resent-Bcc and every X-Sealpost-* control field (see [IsStrippedHeader])
// and copies every other byte exactly, into [age.Encrypt]. The recipients are
// the per-message identity from [NewIdentity] plus any directory recipients
// of the addressee; [NeedsHybrid] says whether the per-message identity must
// be post-quantum, because age does not mix post-quantum and classic
// recipients. The result is a standard binary age file: a recipient with its
// own key decrypts it with the stock tool,
//
//	age -d -i key.txt -o message.eml message.eml.age
//
// # The envelope
//
// [WriteEnvelope] writes a new MIME message around the ciphertext. Only
// the fields named by [CopiedHeaders] (From, To, Cc, Date, Message-Id,
// In-Reply-To, References) are taken from the original, so that the mail
// can be delivered and threaded. The subject is a neutral one chosen by the
// organisation, and the body is a notice with the portal link plus the
// attachment [AttachmentName]. No original subject, body, attachment name or
// other header reaches the envelope.
//
// # Recognising our own mail
//
// Every envelope carries [IDHeader] (X-Sealpost-Id) with the message id,
// the SHA-256 of the ciphertext and an HMAC over both ([SignID]). When
// mail comes back through the relay (a loop, or a reply quoting it),
// [FindSealedAttachment] hashes the attachment and [VerifyID] checks the
// field: only a field with a valid MAC whose hash matches the attachment
// proves that the message is an envelope this organisation sealed.
// Even then the relay must not pass other parts through unsealed: a
// genuine envelope with an extra part added is not the same message.
//
// # Message ids
//
// [NewMessageID] makes the unguessable ids used in portal links.
package seal
