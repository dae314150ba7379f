package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// vaultProxy is a reverse proxy in front of Vault that counts requests by
// kind, so that the report can give Vault calls per message.
type vaultProxy struct {
	URL string // what the gateways use as vault.address

	srv *http.Server
	mu  sync.Mutex
	n   map[string]int64
	d   map[string]time.Duration // total time Vault took, by kind
}

// Kinds of Vault request.
const (
	vaultDirectory = "kv read"         // KV v2 reads: the recipient directory, the MAC key
	vaultEncrypt   = "transit encrypt" // WrapTransit batches (vault.wrap: transit)
	vaultTransit   = "transit"         // the wrap key's public half, checkpoint signatures
	vaultHealth    = "health probe"    // sys/health and token lookup-self, every 2 s
	vaultOther     = "other"
)

func vaultKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/sys/health"), strings.HasPrefix(p, "/v1/auth/token/"):
		return vaultHealth
	case strings.Contains(p, "/transit/encrypt/"):
		return vaultEncrypt
	case strings.Contains(p, "/transit/"), strings.HasPrefix(p, "/v1/transit"):
		return vaultTransit
	case strings.Contains(p, "/data/") && r.Method == http.MethodGet:
		return vaultDirectory
	default:
		return vaultOther
	}
}

func startVaultProxy(target string) (*vaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the Vault address: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen for the Vault proxy: %w", err)
	}
	p := &vaultProxy{URL: "http://" + ln.Addr().String(), n: map[string]int64{}, d: map[string]time.Duration{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := vaultKind(r)
			start := time.Now()
			rp.ServeHTTP(w, r)
			took := time.Since(start)
			p.mu.Lock()
			p.n[k]++
			p.d[k] += took
			p.mu.Unlock()
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("vault proxy stopped: %v\n", err)
		}
	}()
	return p, nil
}

// vaultCounts are requests and the time Vault took to answer them, by kind.
type vaultCounts struct {
	n map[string]int64
	d map[string]time.Duration
}

// counts returns the requests counted so far; none without a proxy.
func (p *vaultProxy) counts() vaultCounts {
	if p == nil {
		return vaultCounts{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return vaultCounts{n: maps.Clone(p.n), d: maps.Clone(p.d)}
}

// Close stops the proxy.
func (p *vaultProxy) Close() error { return p.srv.Close() }

// diffCounts returns after minus before.
func diffCounts(before, after vaultCounts) vaultCounts {
	c := vaultCounts{n: map[string]int64{}, d: map[string]time.Duration{}}
	for k, v := range after.n {
		if x := v - before.n[k]; x != 0 {
			c.n[k] = x
			c.d[k] = after.d[k] - before.d[k]
		}
	}
	return c
}
