package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/sealpost/sealpost/internal/postfixtest"
)

// postfixBaseline is setup (c): a private Postfix relaying to the sink.
type postfixBaseline struct {
	inst   *postfixtest.Instance
	master int // pid of its master daemon
}

// startPostfix runs a private Postfix whose relayhost is the sink, and then
// makes it deliver as a careful site would: verified TLS to the next hop
// (the sink's private CA, name "localhost"), with TLS connection reuse
// through tlsproxy, so that it does not pay a handshake per message.
func startPostfix(h *harness, sinkAddr, caFile string) (*postfixBaseline, error) {
	_, port, err := net.SplitHostPort(sinkAddr)
	if err != nil {
		return nil, err
	}
	inst := postfixtest.Start(h, postfixtest.Options{Mode: postfixtest.RelayHost, Gateway: "localhost:" + port})
	// Postfix's smtp and tlsproxy run as the postfix user: give them a copy
	// of the CA they can read.
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pfCA := filepath.Join(inst.ConfigDir, "sink-ca.pem")
	if err := os.WriteFile(pfCA, ca, 0o644); err != nil {
		return nil, err
	}
	postconf, err := exec.LookPath("postconf")
	if err != nil {
		postconf = "/usr/sbin/postconf"
	}
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		postfix = "/usr/sbin/postfix"
	}
	for _, args := range [][]string{
		{"-e",
			"smtp_tls_security_level=secure",
			"smtp_tls_secure_cert_match=nexthop",
			"smtp_tls_CAfile=" + pfCA,
			"smtp_tls_connection_reuse=yes",
			"smtp_tls_loglevel=0",
		},
		// The TLS services postfixtest's master.cf leaves out.
		{"-M", "tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr"},
		{"-M", "tlsproxy/unix=tlsproxy unix - - n - 0 tlsproxy"},
	} {
		cmd := exec.Command(postconf, append([]string{"-c", inst.ConfigDir}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("failed to run postconf %v: %w\n%s", args, err, out)
		}
	}
	if out, err := exec.Command(postfix, "-c", inst.ConfigDir, "reload").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("failed to reload postfix: %w\n%s", err, out)
	}
	time.Sleep(time.Second) // the master re-reads its configuration asynchronously
	master, err := findProcess("master", "-c", inst.ConfigDir, "-s")
	if err != nil {
		return nil, fmt.Errorf("failed to find the Postfix master daemon: %w", err)
	}
	return &postfixBaseline{inst: inst, master: master}, nil
}

// pids is the master daemon and every process it has started.
func (p *postfixBaseline) pids() ([]int, error) {
	return processTree(p.master)
}
