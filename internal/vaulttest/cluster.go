package vaulttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// Cluster is a Vault cluster with integrated storage (Raft) on loopback
// ports: one process per node, all unsealed with the same single key.
type Cluster struct {
	// Nodes are the cluster's servers. Each has the cluster's RootToken
	// and UnsealKey.
	Nodes []*Server
	// RootToken is the cluster's root token.
	RootToken string
	// UnsealKey is the cluster's single unseal key.
	UnsealKey string
}

// StartCluster runs an n-node Raft cluster for the rest of the test:
// node 0 is initialised (one key share) and unsealed, the others join it
// (`vault operator raft join`) and are unsealed with the same key. It
// returns once every node is unsealed and node 0 is active.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatal("vaulttest: a cluster needs at least one node")
	}
	c := &Cluster{}
	for i := range n {
		s := newConfigServer(t, "")
		s.standby = true
		if err := os.MkdirAll(filepath.Join(s.dir, "raft"), 0o700); err != nil {
			t.Fatal(err)
		}
		var lastErr error
		for range 3 { // a free port can be taken by someone else before Vault binds it
			listen, err1 := freePort()
			cluster, err2 := freePort()
			if err1 != nil || err2 != nil {
				t.Fatalf("failed to find free ports: %v %v", err1, err2)
			}
			s.listen = listen
			s.hcl = fmt.Sprintf(`
storage "raft" {
  path                   = %q
  node_id                = "node%d"
  performance_multiplier = 1
  autopilot_reconcile_interval = "1s"
  autopilot_update_interval    = "500ms"
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = true
}
api_addr      = "http://%s"
cluster_addr  = "https://%s"
disable_mlock = true
`, filepath.Join(s.dir, "raft"), i, listen, cluster, listen, cluster)
			if lastErr = s.start(); lastErr == nil {
				break
			}
			s.Stop(t)
		}
		if lastErr != nil {
			s.dumpLog(t)
			t.Fatalf("failed to start vault node %d (%s): %v", i, s.bin, lastErr)
		}
		c.Nodes = append(c.Nodes, s)
	}

	first := c.Nodes[0]
	first.initialise(t)
	c.RootToken, c.UnsealKey = first.RootToken, first.UnsealKey
	first.Unseal(t)
	first.waitHealth(t, func(h *api.HealthResponse) bool { return !h.Standby }, "active")
	// New nodes join as non-voters and autopilot promotes them once they
	// have been healthy this long (10s by default).
	if _, err := first.API(t).Logical().Write("sys/storage/raft/autopilot/configuration",
		map[string]any{"server_stabilization_time": "1s"}); err != nil {
		t.Fatalf("failed to configure raft autopilot: %v", err)
	}

	for i, s := range c.Nodes[1:] {
		s.RootToken, s.UnsealKey = c.RootToken, c.UnsealKey
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		resp, err := s.API(t).Sys().RaftJoinWithContext(ctx, &api.RaftJoinRequest{LeaderAPIAddr: first.Addr})
		cancel()
		if err != nil || !resp.Joined {
			t.Fatalf("node %d failed to join the raft cluster: joined=%v err=%v", i+1, resp != nil && resp.Joined, err)
		}
		s.Unseal(t)
	}
	// Every node must see all peers before the cluster can lose one.
	c.waitPeers(t, first, n)
	return c
}

// waitPeers waits until the Raft configuration read through s lists n
// voters.
func (c *Cluster) waitPeers(t testing.TB, s *Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var last string
	for {
		sec, err := s.API(t).Logical().ReadWithContext(ctx, "sys/storage/raft/configuration")
		if err == nil && sec != nil {
			cfg, _ := sec.Data["config"].(map[string]any)
			servers, _ := cfg["servers"].([]any)
			voters := 0
			for _, sv := range servers {
				if m, _ := sv.(map[string]any); m != nil && m["voter"] == true {
					voters++
				}
			}
			if voters == n {
				return
			}
			last = strconv.Itoa(voters) + " voters"
		} else {
			last = fmt.Sprint(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("raft cluster did not reach %d voters: %s", n, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Addrs returns every node's address, in node order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Active returns the index of the active node, waiting (up to a minute)
// until one of the running nodes says it is active.
func (c *Cluster) Active(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		for i, s := range c.Nodes {
			if s.cmd == nil {
				continue // stopped
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			h, err := s.API(t).Sys().HealthWithContext(ctx)
			cancel()
			if err == nil && h.Initialized && !h.Sealed && !h.Standby {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no active node in the vault cluster")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill kills node i with SIGKILL, as a crash would.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	c.Nodes[i].Stop(t)
}
