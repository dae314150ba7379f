// Package nexthop delivers messages to the next-hop MTA over SMTP.
//
// A [Client] is made once from a [Config] and used by every relay session. [Client.Deliver] runs one mail
// transaction (MAIL, RCPT for each recipient, DATA for the accepted ones) and reports the next hop's answer per
// recipient in a [Result]. Connections are pooled and reused for the next message.
//
// # TLS
//
// The default mode, [TLSVerify], requires STARTTLS and verifies the next hop's certificate against the system
// roots plus Config.CAFile, for Config.ServerName (default: the host of Config.Addr). When the next hop does not
// offer STARTTLS, or the handshake or the verification fails, Deliver returns an error before any MAIL command:
// it never falls back to plaintext. [TLSOpportunistic] uses STARTTLS when offered, without verification, and
// plaintext otherwise. [TLSNone] never uses TLS; it is an explicit opt-in and is logged as unsafe when the
// client is made. AUTH PLAIN credentials are only ever sent over TLS.
//
// # Errors
//
// Deliver returns an error for anything that is not an SMTP answer from the next hop: a refused connection, a
// TLS failure, a timeout, a connection dropped mid-transaction. Such an error is always temporary: the caller
// replies 4xx so that the upstream MTA keeps the message. SMTP answers (4xx or 5xx) are in the Result instead; an
// answer of 421 (the next hop is closing the connection) is treated as a connection failure.
//
// If the message reader fails during DATA, the connection is dropped without the final dot, so the next hop
// never accepts a truncated message.
//
// # DATA
//
// The message is dot-stuffed and given CRLF line endings a line at a time, straight onto the connection through
// a 64 KiB buffer kept with it, rather than a byte at a time through go-smtp's writer; the bytes sent are the
// same (see dataWriter). TLS records are full size from the first.
//
// # Connection reuse
//
// After a completed transaction the connection goes back to an idle pool (Config.MaxIdle); after an abandoned
// one (no recipient accepted, DATA refused) RSET is sent first. Any error discards the connection. A pooled
// connection that turns out to be dead at MAIL (the next hop closed it while idle) is replaced once by a fresh
// connection; once a RCPT has been sent, nothing is retried.
package nexthop
