package media

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the media engine's Prometheus series. Children are resolved once here, so
// the packet path only calls Inc on a ready counter and never builds a label map.
//
// hotline_rtp_garbage_packets_total{reason} reasons: short (less than an RTP header),
// bad_version (V != 2: STUN, DTLS or noise), malformed (bad padding or extension),
// unknown_payload_type, foreign_source (refused by the symmetric RTP policy),
// before_negotiation (no Configure yet) and bad_telephone_event.
type Metrics struct {
	packetsReceived prometheus.Counter
	packetsSent     prometheus.Counter
	bytesReceived   prometheus.Counter
	bytesSent       prometheus.Counter
	garbageShort    prometheus.Counter
	garbageVersion  prometheus.Counter
	garbageBad      prometheus.Counter
	garbagePT       prometheus.Counter
	foreignSource   prometheus.Counter
	beforeRemote    prometheus.Counter
	dtmfRFC4733     prometheus.Counter
	dtmfInfo        prometheus.Counter
	dtmfBadPayload  prometheus.Counter
	dtmfDropped     prometheus.Counter
	timeouts        prometheus.Counter
	sendErrors      prometheus.Counter
	lateTicks       prometheus.Counter
	rtcp            prometheus.Counter
	latches         prometheus.Counter
	sessions        prometheus.Gauge
}

// NewMetrics registers the media series on reg (tests pass a fresh registry). ports, when
// not nil, is exported as the number of RTP ports in use. A nil reg registers nothing.
func NewMetrics(reg prometheus.Registerer, ports *PortAllocator) (*Metrics, error) {
	garbage := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_rtp_garbage_packets_total",
		Help: "Datagrams on RTP ports that were not usable RTP, by reason.",
	}, []string{"reason"})
	dtmf := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_dtmf_digits_total",
		Help: "DTMF digits reported to flows, by the route they arrived on.",
	}, []string{"source"})
	m := &Metrics{
		packetsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_packets_received_total", Help: "RTP packets received and accepted.",
		}),
		packetsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_packets_sent_total", Help: "RTP packets sent.",
		}),
		bytesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_received_bytes_total", Help: "RTP bytes received (UDP payload).",
		}),
		bytesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_sent_bytes_total", Help: "RTP bytes sent (UDP payload).",
		}),
		garbageShort:   garbage.WithLabelValues("short"),
		garbageVersion: garbage.WithLabelValues("bad_version"),
		garbageBad:     garbage.WithLabelValues("malformed"),
		garbagePT:      garbage.WithLabelValues("unknown_payload_type"),
		foreignSource:  garbage.WithLabelValues("foreign_source"),
		beforeRemote:   garbage.WithLabelValues("before_negotiation"),
		dtmfRFC4733:    dtmf.WithLabelValues("rfc4733"),
		dtmfInfo:       dtmf.WithLabelValues("sip_info"),
		dtmfBadPayload: garbage.WithLabelValues("bad_telephone_event"),
		dtmfDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_dtmf_digits_dropped_total",
			Help: "Digits dropped because the flow did not read its type-ahead buffer in time.",
		}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_timeouts_total", Help: "Calls whose incoming RTP stopped for longer than the RTP timeout.",
		}),
		sendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_send_errors_total", Help: "RTP packets the kernel refused to send.",
		}),
		lateTicks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_media_clock_resyncs_total",
			Help: "Times a stream fell so far behind its schedule that it skipped frames instead of bursting them.",
		}),
		rtcp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtcp_packets_received_total",
			Help: "RTCP packets received multiplexed on RTP ports (RFC 5761); not interpreted yet.",
		}),
		latches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_rtp_latches_total",
			Help: "Times a session redirected its outgoing RTP to the address the caller's packets come from (symmetric RTP).",
		}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_media_sessions_active", Help: "Media sessions (one per call leg) currently open.",
		}),
	}
	cs := []prometheus.Collector{m.packetsReceived, m.packetsSent, m.bytesReceived, m.bytesSent,
		garbage, dtmf, m.dtmfDropped, m.timeouts, m.sendErrors, m.lateTicks, m.rtcp, m.latches, m.sessions}
	if ports != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hotline_rtp_ports_in_use", Help: "RTP ports held by open media sessions.",
		}, func() float64 { return float64(ports.InUse()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "hotline_rtp_ports_capacity", Help: "RTP ports in the configured range.",
			}, func() float64 { return float64(ports.Capacity()) }))
	}
	if reg != nil {
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("media: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
