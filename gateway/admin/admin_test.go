package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sealpost_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	vaultErr := errors.New("connection refused to 10.0.0.7:8200")
	down := false
	srv := httptest.NewServer(Handler(reg, map[string]Check{
		"vault": func(context.Context) error {
			if down {
				return vaultErr
			}
			return nil
		},
		"store": func(context.Context) error { return nil },
	}))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, "vault: ok") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	down = true
	code, body := get("/readyz")
	if code != 503 || !strings.Contains(body, "vault: not ready") || !strings.Contains(body, "store: ok") {
		t.Errorf("/readyz with vault down = %d %q", code, body)
	}
	if strings.Contains(body, "10.0.0.7") {
		t.Errorf("/readyz leaks the error text: %q", body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "sealpost_test_total 1") {
		t.Errorf("/metrics = %d, missing the counter", code)
	}
}
