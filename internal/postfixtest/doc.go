// Package postfixtest runs private, real Postfix instances for end-to-end
// tests of the Sealpost gateway.
//
// [Start] writes a main.cf and master.cf into a fresh directory, creates the
// queue tree with the owners and modes Postfix requires, and runs the Postfix
// master daemon (`master -c DIR`) in the foreground as a child of the test
// binary. The instance never reads /etc/postfix or touches the system queue,
// listens only on loopback ports of its own, and is stopped and deleted when
// the test ends. Several instances can run at once in one test binary.
//
//	gw := startGateway(t)                        // Sealpost under test
//	pf := postfixtest.Start(t, postfixtest.Options{Mode: postfixtest.RelayHost, Gateway: gw.Addr})
//	out, err := postfixtest.Swaks(t, "--server", pf.SMTPAddr, "--from", "a@example.org", "--to", "b@example.net")
//	pf.WaitQueueEmpty(t, time.Minute)            // every message left Postfix
//
// # Requirements
//
// The Debian postfix package (3.4 or later; 3.7 on Debian 12), which provides
// the postfix user, the postdrop group and smtp-source; swaks for [Swaks].
// The tests must run as root: the master daemon binds its ports and then
// drops privileges to the postfix user. Anything missing fails the test with
// the apt-get command that installs it; nothing is ever skipped.
//
// # Layout of an instance
//
// Dir is a short directory under the system temporary directory, not
// t.TempDir(): Postfix's UNIX-domain sockets live under queue/private and
// queue/public, and a socket path may not exceed 107 bytes, which a
// t.TempDir() path (it embeds the test name) can overrun.
//
//	Dir/etc/main.cf, Dir/etc/master.cf   config_directory (postfix -c Dir/etc)
//	Dir/queue/                           queue_directory, owned by root
//	Dir/data/                            data_directory, owned by postfix
//	Dir/maillog                          maillog_file, written by postlogd
//	Dir/master.out                       the master daemon's stdout/stderr
//
// The queue tree is created by [Start] itself, following the $queue_directory
// lines of /etc/postfix/postfix-files (TestPostfixCheck compares the two),
// rather than by `postfix check`, which takes 15-30 s on a busy machine
// because post-install runs postconf dozens of times.
//
// # Settings common to both modes
//
// No service runs chrooted (chroot column n). main.cf sets:
//
//	compatibility_level = 3.6
//	inet_interfaces = 127.0.0.1          loopback only (listeners in master.cf name 127.0.0.1 too)
//	inet_protocols = ipv4
//	mynetworks = 127.0.0.0/8
//	myhostname = postfix-test.localhost
//	mydestination =                      no local delivery: everything is relayed ...
//	relay_domains =
//	smtpd_relay_restrictions = permit_mynetworks, reject    ... but only for loopback clients
//	smtp_tls_security_level = none       plain SMTP/LMTP to the gateway on loopback
//	smtputf8_enable = yes
//	message_size_limit = Options.MaxSize (default 60 MiB)
//	queue_run_delay = 1s, minimal_backoff_time = 1s, maximal_backoff_time = 2s
//	delay_warning_time = 0
//	maillog_file = Dir/maillog           with the postlog service in master.cf
//
// The backoff settings make a deferred message retry within seconds; in
// production the defaults (300s/300s/4000s) are right. One side effect of
// such short backoffs: the queue manager sometimes picks a deferred message
// up while the delivery agent still holds its lock, logs "skipped, still
// being delivered" and parks it in the incoming queue for 60 s.
// [Instance.Flush] (`postqueue -f`) releases it at once, and [Instance.WaitQueueEmpty]
// flushes every second.
//
// # Mode RelayHost: Sealpost as the smarthost
//
// Postfix relays every message it accepts to the gateway over SMTP. The
// production equivalent is one main.cf line on the organisation's outbound
// Postfix:
//
//	relayhost = [sealpost.example.org]:2525
//
// The brackets turn off the MX lookup. Postfix keeps a message queued until
// the gateway answers 250 for it, so while the gateway is down or answers
// 4xx, mail waits in Postfix's deferred queue and is retried; nothing is lost
// and nothing goes out unsealed. In production, add TLS to the gateway
// (smtp_tls_security_level = encrypt, or verify/secure with a certificate),
// unless the gateway runs on the same host.
//
// # Mode ContentFilterLMTP: Sealpost as an after-queue content filter
//
// This is Postfix's FILTER_README "advanced content filter" with the filter
// reached over LMTP. Every message the public smtpd accepts is queued and
// then delivered, over LMTP, to the gateway; the gateway seals it (or not)
// and submits the result to a second smtpd listener, the re-injection
// listener, which has content_filter cleared so the message is not filtered
// again, and from which Postfix delivers it onward as usual. In the tests,
// "onward" is relayhost = [NextHop]; in production it is the normal route to
// the Internet. The production configuration is:
//
// main.cf:
//
//	content_filter = sealpost:[127.0.0.1]:10024
//	receive_override_options = no_address_mappings
//
// master.cf:
//
//	# The LMTP client that hands mail to Sealpost. maxproc (10) bounds how
//	# many messages Sealpost works on at once.
//	sealpost  unix  -  -  n  -  10  lmtp
//	  -o syslog_name=postfix/sealpost
//	  -o lmtp_send_xforward_command=yes
//	  -o disable_mime_output_conversion=yes
//	  -o lmtp_data_done_timeout=1200s
//
//	# The re-injection listener: Sealpost's next hop is 127.0.0.1:10025.
//	127.0.0.1:10025  inet  n  -  n  -  -  smtpd
//	  -o syslog_name=postfix/reinject
//	  -o content_filter=
//	  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
//	  -o smtpd_helo_restrictions=
//	  -o smtpd_client_restrictions=
//	  -o smtpd_sender_restrictions=
//	  -o smtpd_relay_restrictions=
//	  -o smtpd_recipient_restrictions=permit_mynetworks,reject
//	  -o smtpd_data_restrictions=
//	  -o mynetworks=127.0.0.0/8
//	  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
//	  -o message_size_limit=125829120
//
// Notes on these lines:
//
//   - content_filter names a dedicated transport ("sealpost", [FilterTransport])
//     that runs the lmtp client, rather than the stock "lmtp" transport, so that
//     the filter's concurrency and timeouts are set without touching other
//     LMTP delivery. content_filter = lmtp:[127.0.0.1]:10024 also works.
//   - no_address_mappings on the public side and its absence on the
//     re-injection side make virtual aliases and canonical maps apply once,
//     after the filter; no_header_body_checks and no_milters stop checks from
//     running twice.
//   - The re-injection listener must accept bigger messages than the public
//     one: a sealed message is the base64 of the age ciphertext of the whole
//     original plus a notice, about 37% larger. The tests allow twice
//     message_size_limit; otherwise a message near the limit would be
//     accepted, then rejected with 552 after sealing and bounced.
//   - LMTP replies once per recipient after DATA. Sealpost can therefore defer
//     (4xx) or accept recipients one by one; Postfix retries only the deferred
//     ones (TestContentFilterLMTP proves it).
//   - Postfix removes a message from its queue only after the LMTP 250, and
//     Sealpost answers 250 only after the re-injection listener has queued the
//     sealed copy, so at every instant at least one of the two queue files
//     exists: nothing is lost. The price is at-least-once delivery: if
//     Sealpost dies (or answers 4xx) after re-injecting but before its 250
//     reaches Postfix, the message is filtered and delivered again.
//   - Sealpost on another host works the same way with its address in
//     content_filter and the re-injection listener on a non-loopback address
//     that only the Sealpost host may use (mynetworks on that listener).
//
// # Inspecting an instance
//
// [Instance.Queue] and [Instance.QueueLen] read `postqueue -c DIR -j`;
// [Instance.Flush] runs `postqueue -c DIR -f`; [Instance.Log] returns the
// maillog file. On a failing test the log is printed automatically. The
// usual tools work against an instance with -c: `postconf -c DIR/etc -n`,
// `postqueue -c DIR/etc -p`, `postcat -c DIR/etc -q QUEUEID`.
package postfixtest
