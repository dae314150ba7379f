package relay

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the relay's Prometheus metrics. They carry counts and
// durations only, never an address or any message content.
type Metrics struct {
	messages       *prometheus.CounterVec
	vaultUpGauge   prometheus.Gauge
	vaultDeferred  prometheus.Counter
	sealFailed     prometheus.Counter
	hopFailed      prometheus.Counter
	forgedID       prometheus.Counter
	relayDenied    prometheus.Counter
	authFailed     prometheus.Counter
	connRefused    prometheus.Counter
	processSeconds prometheus.Histogram
	sealSeconds    prometheus.Histogram
	hopSeconds     prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.0005, 2, 16)
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpost_relay_recipients_total",
			Help: "Recipient copies handled, by outcome (seal, pass, require-tls, reject, malformed, duplicate, too_large).",
		}, []string{"outcome"}),
		vaultUpGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sealpost_vault_up", Help: "1 if the last Vault health probe succeeded.",
		}),
		vaultDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_vault_unavailable_deferrals_total", Help: "Messages deferred with 4xx because Vault was unavailable.",
		}),
		sealFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_seal_failures_total", Help: "Seal attempts that failed and were deferred.",
		}),
		hopFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_next_hop_failures_total", Help: "Deliveries that failed to reach the next hop.",
		}),
		forgedID: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_unverified_sealpost_id_total", Help: "Messages whose X-Sealpost-Id did not verify.",
		}),
		relayDenied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_relay_denied_total", Help: "MAIL commands refused because the client may not relay.",
		}),
		authFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_auth_failures_total", Help: "Failed AUTH attempts.",
		}),
		connRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpost_connections_refused_total", Help: "Connections refused over max_connections.",
		}),
		processSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sealpost_process_seconds", Help: "Time from end of DATA to the reply.", Buckets: buckets,
		}),
		sealSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sealpost_seal_seconds", Help: "Time to seal and store one message.", Buckets: buckets,
		}),
		hopSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sealpost_next_hop_seconds", Help: "Time the next hop took to accept one copy.", Buckets: buckets,
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.vaultUpGauge, m.vaultDeferred, m.sealFailed, m.hopFailed, m.forgedID,
			m.relayDenied, m.authFailed, m.connRefused, m.processSeconds, m.sealSeconds, m.hopSeconds)
	}
	return m
}

func (m *Metrics) setVaultUp(up bool) {
	if up {
		m.vaultUpGauge.Set(1)
	} else {
		m.vaultUpGauge.Set(0)
	}
}
