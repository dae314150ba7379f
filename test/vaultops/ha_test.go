package vaultops

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// TestHAFailover runs sealed mail through a node backed by a three-node
// Vault cluster with integrated storage, and kills the active Vault node
// (SIGKILL) in the middle of the load. The node knows all three addresses
// (vault.failover_addresses). Every message must end up delivered exactly
// once — a 4xx during the gap is fine and the client retries, as an MTA
// would — the gateway must seal after the failover, and every delivered
// message must open with the portal token on the new active node.
func TestHAFailover(t *testing.T) {
	const (
		messages    = 200
		concurrency = 4
		killAfter   = 50 // delivered messages before the active node is killed
	)
	cluster := vaulttest.StartCluster(t, 3)
	addrs := cluster.Addrs()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := keys.New(keys.Config{Address: addrs[0], Token: cluster.RootToken})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := keys.Setup(ctx, root)
	if err != nil {
		t.Fatalf("Setup on the cluster: %v", err)
	}
	active := cluster.Active(t)
	// The node talks to the active node first, so that killing it forces
	// the client to fail over (a standby would forward to the new one).
	order := append([]string{addrs[active]}, without(addrs, active)...)
	s := startStack(t, config.Vault{Address: order[0], FailoverAddresses: order[1:], Token: creds.RelayToken})

	var (
		delivered atomic.Int64
		deferred  atomic.Int64
		killed    atomic.Bool
		killOnce  sync.Once
		mu        sync.Mutex
		afterKill []string // messages first accepted after the kill
		failures  []string
	)
	killDone := make(chan struct{})
	work := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := fmt.Sprintf("ha-%03d", i)
				for attempt := 0; ; attempt++ {
					err := s.send(id)
					if err == nil {
						break
					}
					if code := smtpCode(err); code < 400 || code >= 500 || ctx.Err() != nil || attempt > 300 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s: %v (attempt %d)", id, err, attempt))
						mu.Unlock()
						return
					}
					deferred.Add(1)
					time.Sleep(100 * time.Millisecond) // the MTA's retry, compressed
				}
				if killed.Load() {
					mu.Lock()
					afterKill = append(afterKill, id)
					mu.Unlock()
				}
				if delivered.Add(1) == killAfter {
					killOnce.Do(func() {
						go func() {
							cluster.Kill(t, active)
							killed.Store(true)
							close(killDone)
						}()
					})
				}
			}
		}()
	}
	for i := range messages {
		if i == killAfter+concurrency {
			// Keep the rest of the load for after the kill, so that the
			// failover happens mid-load on every machine.
			<-killDone
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d messages failed for good:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	newActive := cluster.Active(t)
	if newActive == active {
		t.Fatalf("node %d, killed, is still active", active)
	}
	t.Logf("%d messages delivered, %d deferrals during the failover, %d first accepted after the kill; active node %d → %d, relay now on %s",
		delivered.Load(), deferred.Load(), len(afterKill), active, newActive, s.node.Keys.Address())
	// With directory answers cached and wrapping local, the load itself may
	// not touch Vault after the kill; the health probe (every 2s) must still
	// move the client off the dead node.
	for deadline := time.Now().Add(15 * time.Second); s.node.Keys.Address() == order[0]; {
		if time.Now().After(deadline) {
			t.Fatalf("the node's Vault client still talks to the killed node %s", order[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(afterKill) < messages-killAfter-concurrency {
		t.Fatalf("only %d messages were sealed after the failover, want at least %d", len(afterKill), messages-killAfter-concurrency)
	}

	// Exactly once at the next hop, and nothing in the clear.
	count := map[string]int{}
	for _, d := range s.capture.Deliveries() {
		count[messageID(d.Data)]++
	}
	for i := range messages {
		mid := fmt.Sprintf("<ha-%03d@example.org>", i)
		if count[mid] != 1 {
			t.Errorf("message %s reached the next hop %d times, want exactly once", mid, count[mid])
		}
	}
	if n := len(s.capture.Deliveries()); n != messages {
		t.Errorf("the next hop holds %d messages, want %d", n, messages)
	}

	// Every delivered message opens with the portal token on the new
	// active node.
	portal, err := keys.New(keys.Config{Address: addrs[newActive], Token: creds.PortalToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.capture.Deliveries() {
		mid := messageID(d.Data)
		want := "results for " + strings.TrimSuffix(strings.TrimPrefix(mid, "<"), "@example.org>")
		got, err := s.open(ctx, portal, d)
		if err != nil || !strings.Contains(got, want) {
			t.Fatalf("message %s does not open with the portal token on the new active node: %v", mid, err)
		}
	}
}

func without(s []string, i int) []string {
	out := make([]string, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}
