package portal

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPlaceholderIsServedWithStrictHeaders(t *testing.T) {
	h := Handler(`Trust <script>`)
	for _, path := range []string{"/", "/m/abc"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		body := rec.Body.String()
		if strings.Contains(body, "<script>") || !strings.Contains(body, "Trust &lt;script&gt;") {
			t.Errorf("%s: organisation name not escaped", path)
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 {
		t.Errorf("/nope = %d", rec.Code)
	}
}
