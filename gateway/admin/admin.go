// Package admin serves the operator endpoints: /healthz (the process is
// alive), /readyz (Vault and the store answer) and Prometheus /metrics.
package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness dependency; it returns nil when healthy.
type Check func(ctx context.Context) error

// Handler returns the admin mux. checks are named readiness probes.
func Handler(gatherer prometheus.Gatherer, checks map[string]Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		status, body := http.StatusOK, ""
		for name, check := range checks {
			if err := check(ctx); err != nil {
				status = http.StatusServiceUnavailable
				// The reason stays in the server log; the probe says only which.
				body += name + ": not ready\n"
			} else {
				body += name + ": ok\n"
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}
