package nexthop

import (
	"net"
	"testing"
	"time"
	"strings"

	"github.com/emersion/go-smtp"
	"github.com/sealpost/sealpost/gateway/capture"
)

func TestStageTiming(t *testing.T) {
	s := startCapture(t, nil, capture.Config{Discard: true})
	nc, _ := net.Dial("tcp", s.Addr())
	c := smtp.NewClient(nc)
	c.Hello("x")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	msg := "Subject: bench\r\n\r\n" + strings.Repeat(line, 20*1024/len(line))
	var tm, tr, td, tw, tc time.Duration
	for i := 0; i < 200; i++ {
		t0 := time.Now()
		c.Mail("a@b", nil)
		t1 := time.Now()
		c.Rcpt("c@d", nil)
		t2 := time.Now()
		w, _ := c.Data()
		t3 := time.Now()
		w.Write([]byte(msg))
		t4 := time.Now()
		w.Close()
		t5 := time.Now()
		tm += t1.Sub(t0); tr += t2.Sub(t1); td += t3.Sub(t2); tw += t4.Sub(t3); tc += t5.Sub(t4)
	}
	t.Logf("mail %v rcpt %v data %v write %v close %v", tm/200, tr/200, td/200, tw/200, tc/200)
}
