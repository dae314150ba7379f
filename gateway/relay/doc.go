// Package relay is Sealpost's SMTP and LMTP front end. It receives a message
// from a trusted MTA, asks package policy what should happen to each
// recipient, seals what must be sealed, forwards every copy to the next hop,
// and only then answers the client.
//
// # The transaction
//
// A session collects MAIL and RCPT, then DATA (or BDAT) streams the message
// into a [spool.Buffer], which keeps small messages in memory and spills
// larger ones to a file encrypted with a key held only in memory. After DATA
// the transaction runs once:
//
//  1. the top-level header is parsed; a message that cannot be parsed is
//     refused with 554 5.6.0 and nothing else happens;
//  2. recipients that the delivery ledger already records as delivered for
//     this exact message are answered from the ledger, so that a retry after
//     partial success re-sends only what is still owed;
//  3. an X-Sealpost-Id header is trusted only if its MAC verifies, the store
//     holds the message and the attached ciphertext hashes to the recorded
//     value: only then is the message treated as already sealed;
//  4. policy decides per recipient; recipients are split into groups with
//     the same outcome (seal, pass, require-tls, reject);
//  5. the seal group gets one age ciphertext of the whole original (less the
//     headers in [seal.StripHeaders]), sealed to a fresh per-message identity
//     whose secret is wrapped for Vault (locally with the wrap key's public
//     half, or by batched Transit encrypt if Options.WrapTransit is set),
//     to the directory recipients and to
//     the archive recipient if one is configured; the ciphertext and wrapped
//     secret are committed to the store before anything is sent;
//  6. every group goes to its next hop, and each recipient the next hop
//     accepts is recorded in the ledger.
//
// Over SMTP one reply covers every group: 250 only when every recipient was
// accepted (or refused permanently, with a DSN to the sender for those), 4xx
// when anything is still owed, 5xx when everything failed permanently. Over
// LMTP each recipient gets its own reply.
//
// # Failing closed
//
// Every error a client sees is an explicit *smtp.SMTPError built in
// codes.go, with a generic text and the transaction's trace id. Errors from
// Vault, the store, the classifier or the next hop are logged with the trace
// id and never sent to the client. If anything needed for sealing fails the
// answer is 451, so the upstream MTA keeps the message queued.
package relay
