package portal

import "net/http"

// readRoutes registers the message, attachment, reply and inbox pages. (Being written.)
func (s *Server) readRoutes(mux *http.ServeMux) {}
