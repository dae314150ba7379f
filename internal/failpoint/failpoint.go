// Package failpoint lets crash tests kill the process at a named point in
// the message path, to prove that a crash at any instant loses no mail.
//
// A failpoint does nothing unless the environment variable
// SEALPOST_FAILPOINT names it when the process starts, so production runs
// pay one string comparison per point. When it names the point, the process
// sends itself SIGKILL there: no deferred function, no flush, no goodbye,
// exactly as a power cut or the OOM killer would.
package failpoint

import (
	"io"
	"os"
	"syscall"
)

// The points in the message path.
const (
	// MidData: part of the message has been read during DATA.
	MidData = "mid-data"
	// AfterSpool: the whole message is received, before classification.
	AfterSpool = "after-spool"
	// AfterStore: sealed, and ciphertext and wrapped secret committed,
	// before anything is sent.
	AfterStore = "after-store"
	// AfterDeliver: the next hop has accepted the copy and the ledger
	// records it, before the client gets its reply.
	AfterDeliver = "after-deliver"
)

var armed = os.Getenv("SEALPOST_FAILPOINT")

// Hit kills the process if name is the armed failpoint.
func Hit(name string) {
	if armed != "" && armed == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never return while the signal is delivered
	}
}

// Reader returns r, or, when [MidData] is armed, a reader that kills the
// process once the first bytes of the message have been read.
func Reader(r io.Reader) io.Reader {
	if armed != MidData {
		return r
	}
	return midData{r}
}

type midData struct{ r io.Reader }

func (m midData) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		Hit(MidData)
	}
	return n, err
}
