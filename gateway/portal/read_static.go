package portal

import (
	"io/fs"
	"net/http"
	"regexp"
)

// defaultBrand is the accent colour when the configured one is unusable.
const defaultBrand = "#1d4f91"

// brandRE is a "#rrggbb" colour.
var brandRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// brandColor is the configured accent colour if it is a "#rrggbb" colour
// (config validation also checks its contrast), else the default.
func (s *Server) brandColor() string {
	if c := s.cfg.Branding.Primary; brandRE.MatchString(c) {
		return c
	}
	return defaultBrand
}

// brandCSS serves the one line of CSS that carries the configured colour.
// The CSP allows no inline style, so it cannot go into the page itself.
func (s *Server) brandCSS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(":root{--brand:" + s.brandColor() + "}\n"))
}

// unavailableRoutes is the whole portal when it has no Vault credentials
// of its own: the static assets, and a 503 page for everything else. It
// fails closed rather than open anything with another role's token.
func (s *Server) unavailableRoutes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	mux.HandleFunc("GET /static/logo", s.logo)
	mux.HandleFunc("GET /static/brand.css", s.brandCSS)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusServiceUnavailable, "err.novault")
	})
	return s.headers(mux)
}
