package lifecycle

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the lifecycle jobs' Prometheus metrics. They carry counts
// only: no message id, address or reason.
type Metrics struct {
	shredded   *prometheus.CounterVec
	rewrapped  prometheus.Counter
	rewrapFail prometheus.Counter
	breakGlass prometheus.Counter
	jobErrors  *prometheus.CounterVec
	lastRun    *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		shredded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpost_messages_shredded_total",
			Help: "Messages crypto-shredded, by cause (recall, expiry).",
		}, []string{"cause"}),
		rewrapped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_rewrap_secrets_total",
			Help: "Wrapped secrets moved to the newest wrap key version.",
		}),
		rewrapFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_rewrap_failures_total",
			Help: "Wrapped secrets that Transit refused to rewrap.",
		}),
		breakGlass: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_break_glass_total",
			Help: "Break-glass openings of a message by an administrator.",
		}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpost_lifecycle_job_errors_total",
			Help: "Failed runs of a lifecycle job (retention, rewrap).",
		}, []string{"job"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sealpost_lifecycle_job_last_success_timestamp_seconds",
			Help: "When a lifecycle job (retention, rewrap) last completed, in Unix seconds.",
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.shredded, m.rewrapped, m.rewrapFail, m.breakGlass, m.jobErrors, m.lastRun)
	}
	return m
}
