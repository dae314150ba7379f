// Command bench is `make bench`: it measures the Sealpost gateway against
// baselines measured in the same run, on the same machine, at the same time.
//
// # Setups
//
// Four setups receive the same messages from the same Go SMTP client pool
// and deliver them to the same sink, a [capture] server in Discard mode
// that requires STARTTLS with a certificate from a private CA:
//
//   - (a) bin/sealpost serve with a policy that seals every message: the
//     shipped default policy with its default changed from pass to seal.
//     Each message's identity is wrapped locally (vault.wrap: local, the
//     default) with the cached public half of the Transit wrap key.
//   - (a2) the same with vault.wrap: transit: each identity is wrapped by
//     Transit encrypt, concurrent messages coalesced into one batch_input
//     request (keys.Client.WrapTransit).
//   - (b) bin/sealpost serve with the shipped default policy, which passes
//     every benchmark message (none carries a sender signal).
//   - (c) a private Postfix instance ([postfixtest]) relaying to the sink
//     over verified TLS, with TLS connection reuse.
//
// The gateways run as deployed: a real Vault (each gateway reaches it through
// its own counting reverse proxy, so that Vault calls per message, Transit
// encrypt calls among them, can be reported), the
// relay's scoped token, the SQLite store with its synchronous commit and
// audit entry, verified TLS to the next hop and the full policy engine.
//
// # What is measured
//
// Each repetition runs a, a2, b, c in turn (interleaved, because the machine is
// shared and noisy), and the report gives the median of the repetitions:
//
//   - throughput: -n messages with -c concurrent client connections, from
//     the first MAIL to the moment the sink has accepted the last copy;
//   - latency: -latency-n messages one at a time; for a gateway, the time
//     from the end of DATA to the 250 reply minus the time the relay spent
//     handing that message to the next hop (read from sealpost_next_hop_seconds
//     on /metrics after each message); for Postfix, end of DATA to 250 (Postfix
//     replies once the message is queued);
//   - peak RSS of the process (VmHWM, reset before each setup through
//     /proc/PID/clear_refs); for Postfix the sum over the master and its
//     children;
//   - one 50 MB message through (a): VmHWM after minus VmRSS before.
//
// Targets are printed with PASS or MISS; a miss never makes the command
// fail, since `make bench` is a measurement. docs/BENCHMARKS.md records the
// method and the figures.
//
// With -profile FILE the gateways run in this process ([node.Start]) instead
// of as bin/sealpost, and a CPU profile of the repetitions is written to
// FILE. Goroutines carry the pprof label "component" (gateway-a, gateway-b,
// gateway-a2, sink, client, vault-proxy), so
// `go tool pprof '-tagfocus=component=^gateway-a$'` shows the sealing gateway
// alone (unanchored, gateway-a also matches gateway-a2). With -memprofile
// FILE as well, an allocation profile of the whole run is written to FILE
// (allocations carry no labels).
package main
