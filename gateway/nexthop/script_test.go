package nexthop

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// scriptServer answers each command line by its verb with a canned reply, to play next hops that
// capture cannot: a STARTTLS injection, a refused STARTTLS. It records the verbs it received.
func scriptServer(t *testing.T, replies map[string]string) (addr string, verbs <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Write([]byte("220 script.test ESMTP\r\n")); err != nil {
					return
				}
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
					verb = strings.ToUpper(verb)
					ch <- verb
					reply, ok := replies[verb]
					if !ok {
						reply = "502 5.5.1 not here\r\n"
					}
					if _, err := c.Write([]byte(reply)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func drain(ch <-chan string) []string {
	var out []string
	for {
		select {
		case v := <-ch:
			out = append(out, v)
		default:
			return out
		}
	}
}

// TestScriptedNextHops proves the client refuses a STARTTLS answer with injected plaintext after it, and a
// refused STARTTLS in verify mode, without ever sending MAIL.
func TestScriptedNextHops(t *testing.T) {
	ehlo := "250-script.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
	for _, tc := range []struct {
		name    string
		replies map[string]string
		mode    TLSMode
		wantSub string
	}{
		{"injection after STARTTLS", map[string]string{"EHLO": ehlo, "STARTTLS": "220 2.0.0 go ahead\r\n250 2.0.0 injected\r\n"}, TLSVerify, "unexpected data"},
		{"injection, opportunistic", map[string]string{"EHLO": ehlo, "STARTTLS": "220 2.0.0 go ahead\r\n250 2.0.0 injected\r\n"}, TLSOpportunistic, "unexpected data"},
		{"STARTTLS refused", map[string]string{"EHLO": ehlo, "STARTTLS": "454 4.7.0 TLS not available\r\n", "QUIT": "221 bye\r\n"}, TLSVerify, "STARTTLS"},
		{"EHLO refused", map[string]string{"EHLO": "500 5.5.1 what\r\n", "HELO": "250 ok\r\n"}, TLSVerify, "EHLO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, verbs := scriptServer(t, tc.replies)
			c := newClient(t, Config{Addr: addr, TLS: tc.mode})
			_, err := c.Deliver(ctxT(t), simpleEnv("a@partner.test"), strings.NewReader(testMsg))
			if err == nil || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("Deliver: %v, want an error about %q", err, tc.wantSub)
			}
			if got := drain(verbs); len(got) == 0 || strings.Contains(strings.Join(got, " "), "MAIL") {
				t.Errorf("commands seen: %v; want some, and no MAIL", got)
			}
		})
	}
}
