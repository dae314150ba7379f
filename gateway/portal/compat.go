package portal

import "net/http"

// Handler is the old placeholder entry point, kept only until gateway/node
// builds a Server with New. (Removed when the node wiring lands.)
func Handler(org string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, org+": the portal is not wired yet", http.StatusServiceUnavailable)
	})
}
