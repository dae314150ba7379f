// Package portal is where recipients open sealed messages. This first
// version serves only a placeholder page and the routes the notices link to;
// enrolment, login and reading come with the portal issue.
package portal

import (
	"html/template"
	"net/http"
)

var page = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Org}} secure messages</title></head>
<body><main>
<h1>{{.Org}} secure messages</h1>
<p>The portal where recipients open sealed messages is not available yet.
If you hold your own age key, decrypt the <code>message.eml.age</code> attachment with <code>age -d</code>.</p>
</main></body></html>
`))

// Handler serves the placeholder portal.
func Handler(org string) http.Handler {
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		_ = page.Execute(w, struct{ Org string }{org})
	}
	mux.HandleFunc("GET /{$}", serve)
	mux.HandleFunc("GET /m/{id}", serve)
	return mux
}
