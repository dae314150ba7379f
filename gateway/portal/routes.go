package portal

import (
	"io/fs"
	"net/http"
	"strings"
)

// Content security policies. Pages run only the portal's own scripts and
// styles; a message's HTML body is served as its own document under
// cspMessage, which sandboxes it (no scripts, no forms, an opaque origin)
// and lets it load nothing: the message's own inline images are embedded
// in it as data: URLs (requests from the opaque origin would carry no
// session cookie), so no remote image can track the reader.
const (
	cspPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	cspMessage = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; " +
		"form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
)

// routes builds the portal's handler: the auth routes (auth.go), the
// reading routes (read.go) and the embedded static assets, behind the
// security headers and cross-origin (CSRF) protection.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	mux.HandleFunc("GET /static/logo", s.logo)
	s.authRoutes(mux)
	s.readRoutes(mux)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "err.forbidden")
	}))
	return s.headers(csrf.Handler(s.limitBodies(mux)))
}

// maxFormBody bounds the body of every request but a secure reply: the
// forms and passkey ceremonies are a few KiB. Without it, a multipart body
// posted to any form would be spooled to temporary files without limit.
const maxFormBody = 64 << 10

// limitBodies bounds request bodies: Config.MaxReplyBytes for a secure
// reply, maxFormBody for everything else.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxFormBody)
		if strings.HasPrefix(r.URL.Path, "/m/") && strings.HasSuffix(r.URL.Path, "/reply") {
			limit = s.cfg.MaxReplyBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// headers sets the headers every response carries. Handlers that serve a
// message body or an attachment replace the CSP and framing headers.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspPage)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Nothing decrypted, and no page about a message, is cached.
			h.Set("Cache-Control", "no-store")
		}
		if s.base.Scheme == "https" {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// logo serves the configured logo, or 404.
func (s *Server) logo(w http.ResponseWriter, r *http.Request) {
	b := s.cfg.Branding
	if len(b.Logo) == 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", b.LogoType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	// An SVG logo is only ever shown through <img>, where it cannot run
	// script; the sandbox covers a direct visit.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(b.Logo)
}
