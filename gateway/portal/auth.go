package portal

import "net/http"

// authRoutes registers enrolment, login, step-up and logout. (Being written.)
func (s *Server) authRoutes(mux *http.ServeMux) {}

// limiter rate-limits code sends and checks per client. (Being written.)
type limiter struct{}

func newLimiter() *limiter { return &limiter{} }
