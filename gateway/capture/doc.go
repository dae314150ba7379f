// Package capture is an SMTP or LMTP next hop that writes every accepted message to disk.
//
// `sealpost dev` runs it as the next hop behind the relay so that delivered mail can be read under
// var/outbox/*.eml. Tests run it as the next hop with injectable failures.
//
// # Storage
//
// Each accepted message is written to Dir/<id>.eml with the exact bytes received (after dot-unstuffing), first
// to a temporary file that is fsync'd and then linked to its final name, before the server answers 250. The id
// is the part of the X-Sealpost-Id header before the first ';', reduced to a safe file name, or a random id when
// the header is absent. An existing file is never overwritten: a numeric suffix is added instead. Files are
// written with mode 0600, because mail that passed unsealed can hold health information.
//
// # Failure injection
//
// [Server.Fail] makes the server answer a chosen SMTP error at MAIL, RCPT or DATA, [Server.HoldData] makes it
// keep a message without answering until [Server.ReleaseData], [Server.DropData] makes it cut the connection
// in the middle of DATA, [Server.CloseConnections] drops the open connections, and [Server.Down] and
// [Server.Up] take the listener away and bring it back on the same address. All of them are safe for
// concurrent use, and [Server.Clear] undoes the injections.
package capture
