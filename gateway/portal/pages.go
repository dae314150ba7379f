package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// page is the data every page template gets; Data is the page's own.
type page struct {
	Title    string // a key in text
	Brand    Branding
	HasLogo  bool
	SignedIn string // the signed-in address, or ""
	Data     any
}

// parsePages parses each templates/<name>.html with templates/layout.html
// and the shared definitions of templates/partials/*.html into its own
// set, so every page can define "content".
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"t": func(key string, args ...any) string { return tr(key, args...) },
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("portal: failed to read layout: %w", err)
	}
	base := template.New("layout").Funcs(funcs)
	if _, err := base.Parse(string(layout)); err != nil {
		return nil, fmt.Errorf("portal: failed to parse layout: %w", err)
	}
	if _, err := base.ParseFS(templateFS, "templates/partials/*.html"); err != nil {
		return nil, fmt.Errorf("portal: failed to parse partials: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		body, err := templateFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("portal: failed to copy layout for %s: %w", name, err)
		}
		if _, err := t.New("content").Parse(string(body)); err != nil {
			return nil, fmt.Errorf("portal: failed to parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes page name with status. title is a key in text. It renders
// into a buffer first, so a template error becomes a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("portal: no such page template", "page", name)
		http.Error(w, tr("err.internal"), http.StatusInternalServerError)
		return
	}
	p := page{Title: title, Brand: s.cfg.Branding, HasLogo: len(s.cfg.Branding.Logo) > 0, Data: data}
	if sess, ok := sessionFrom(r); ok {
		p.SignedIn = sess.Address
	} else if sess, ok := s.loadSessionQuiet(r); ok {
		// A handler that checked the session without attaching it (a
		// step-up form posted back with an error) still shows who is
		// signed in and the sign-out button.
		p.SignedIn = sess.Address
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("portal: failed to render page", "page", name, "err", err)
		http.Error(w, tr("err.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows the generic error page with the message text[key]. It never
// shows an error's own text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, key string) {
	s.render(w, r, status, "error", "title.error", struct{ Message string }{tr(key)})
}
