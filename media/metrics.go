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
//
// hotline_rtcp_invalid_packets_total{reason} reasons: short, bad_version, bad_length,
// bad_padding, bad_first_packet (RFC 3550 §6.1: a compound packet starts with SR or RR),
// malformed (SDES, counts) and foreign_source (not from the caller's address).
//
// hotline_dtmf_digits_total{source} counts the digits reported to flows by the route
// that reported them first (rfc4733, sip_info, inband); hotline_dtmf_duplicates_total
// {source} the copies of the same key press that arrived later by another route and
// were suppressed. Their sum is every digit recognised.
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
	dtmfBadPayload  prometheus.Counter
	dtmfDropped     prometheus.Counter
	timeouts        prometheus.Counter
	sendErrors      prometheus.Counter
	lateTicks       prometheus.Counter
	latches         prometheus.Counter
	sessions        prometheus.Gauge
	sendBatching    prometheus.Gauge   // 1 while outgoing RTP leaves in io_uring batches
	sendBatches     prometheus.Counter // io_uring submissions of outgoing RTP
	receiveBatching prometheus.Gauge   // 1 while the clock shards read the RTP sockets
	receiveBatches  prometheus.Counter // io_uring submissions of RTP reads

	// Digits by route: reported, and suppressed as duplicates of another route's.
	dtmfRFC4733, dtmfInfo, dtmfInband    prometheus.Counter
	dupRFC4733, dupInfo, dupInband       prometheus.Counter
	dtmfSentRFC4733, dtmfSentInband      prometheus.Counter
	concealed, fecRecovered, decodeError prometheus.Counter
	lostPackets, latePackets             prometheus.Counter
	vadDropped                           prometheus.Counter

	rtcpReceived, rtcpSent, rtcpSendErrors prometheus.Counter
	rtcpShort, rtcpVersion, rtcpLength     prometheus.Counter
	rtcpPadding, rtcpFirst, rtcpMalformed  prometheus.Counter
	rtcpForeign                            prometheus.Counter

	srtp srtpCounters // hotline_srtp_errors_total{reason} (srtp.go)

	jitter prometheus.Histogram
	mos    prometheus.Histogram
	rtt    prometheus.Histogram

	// tickLate and tickBusy tell whether the media clock keeps time: how late a shard
	// woke for its tick, and how long the tick then took. Either growing past a few
	// milliseconds is what a caller hears as uneven audio before any packet is lost.
	tickLate prometheus.Histogram
	tickBusy prometheus.Histogram
}

// NewMetrics registers the media series on reg (tests pass a fresh registry). ports, when
// not nil, is exported as the number of RTP and RTCP ports in use. A nil reg registers
// nothing. The host's UDP receive-buffer drop counters are registered too (see
// NewUDPErrorsCollector).
func NewMetrics(reg prometheus.Registerer, ports *PortAllocator) (*Metrics, error) {
	garbage := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_rtp_garbage_packets_total",
		Help: "Datagrams on RTP ports that were not usable RTP, by reason.",
	}, []string{"reason"})
	dtmf := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_dtmf_digits_total",
		Help: "DTMF digits reported to flows, by the route they arrived on first.",
	}, []string{"source"})
	dups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_dtmf_duplicates_total",
		Help: "DTMF key presses that arrived again by a second route within the merge window and were reported once, by the route of the suppressed copy.",
	}, []string{"source"})
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_dtmf_digits_sent_total",
		Help: "DTMF digits sent to callers, by mode (rfc4733, inband).",
	}, []string{"mode"})
	rtcpBad := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_rtcp_invalid_packets_total",
		Help: "RTCP datagrams that were refused, by reason.",
	}, []string{"reason"})
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		packetsReceived: counter("hotline_rtp_packets_received_total", "RTP packets received and accepted."),
		packetsSent:     counter("hotline_rtp_packets_sent_total", "RTP packets sent."),
		bytesReceived:   counter("hotline_rtp_received_bytes_total", "RTP bytes received (UDP payload)."),
		bytesSent:       counter("hotline_rtp_sent_bytes_total", "RTP bytes sent (UDP payload)."),
		garbageShort:    garbage.WithLabelValues("short"),
		garbageVersion:  garbage.WithLabelValues("bad_version"),
		garbageBad:      garbage.WithLabelValues("malformed"),
		garbagePT:       garbage.WithLabelValues("unknown_payload_type"),
		foreignSource:   garbage.WithLabelValues("foreign_source"),
		beforeRemote:    garbage.WithLabelValues("before_negotiation"),
		dtmfBadPayload:  garbage.WithLabelValues("bad_telephone_event"),
		dtmfRFC4733:     dtmf.WithLabelValues("rfc4733"),
		dtmfInfo:        dtmf.WithLabelValues("sip_info"),
		dtmfInband:      dtmf.WithLabelValues("inband"),
		dupRFC4733:      dups.WithLabelValues("rfc4733"),
		dupInfo:         dups.WithLabelValues("sip_info"),
		dupInband:       dups.WithLabelValues("inband"),
		dtmfSentRFC4733: sent.WithLabelValues("rfc4733"),
		dtmfSentInband:  sent.WithLabelValues("inband"),
		dtmfDropped: counter("hotline_dtmf_digits_dropped_total",
			"Digits dropped because the flow did not read its type-ahead buffer in time."),
		timeouts:   counter("hotline_rtp_timeouts_total", "Calls whose incoming RTP stopped for longer than the RTP timeout."),
		sendErrors: counter("hotline_rtp_send_errors_total", "RTP packets the kernel refused to send."),
		lateTicks: counter("hotline_media_clock_resyncs_total",
			"Times a stream fell so far behind its schedule that it skipped frames instead of bursting them."),
		latches: counter("hotline_rtp_latches_total",
			"Times a session redirected its outgoing RTP to the address the caller's packets come from (symmetric RTP)."),
		concealed: counter("hotline_media_concealed_frames_total",
			"Received frames that were lost or late at playout and filled by packet-loss concealment (G.711 Appendix I, or the Opus decoder), or that would have been while nothing hears the caller; frames an RFC 4733 event replaced in the caller's stream count too."),
		fecRecovered: counter("hotline_media_fec_recovered_frames_total",
			"Lost Opus frames recovered from the next packet's in-band FEC (counted in concealed frames too)."),
		decodeError: counter("hotline_rtp_decode_errors_total",
			"Received payloads the codec could not decode; the frame is concealed instead."),
		lostPackets: counter("hotline_rtp_lost_packets_total",
			"Incoming RTP packets lost on the network (RFC 3550 A.3: expected minus received), added at each RTCP report and at hang-up."),
		latePackets: counter("hotline_rtp_late_packets_total",
			"Incoming RTP packets that arrived after their playout time and were dropped by the jitter buffer."),
		vadDropped: counter("hotline_vad_events_dropped_total",
			"Speech start/end events dropped because the flow did not read them in time."),
		rtcpReceived: counter("hotline_rtcp_packets_received_total",
			"RTCP datagrams received, on RTCP ports or multiplexed on RTP ports (RFC 5761), valid or not."),
		rtcpSent:       counter("hotline_rtcp_packets_sent_total", "RTCP compound packets sent (SR or RR, SDES, BYE at hang-up)."),
		rtcpSendErrors: counter("hotline_rtcp_send_errors_total", "RTCP packets the kernel refused to send."),
		rtcpShort:      rtcpBad.WithLabelValues("short"),
		rtcpVersion:    rtcpBad.WithLabelValues("bad_version"),
		rtcpLength:     rtcpBad.WithLabelValues("bad_length"),
		rtcpPadding:    rtcpBad.WithLabelValues("bad_padding"),
		rtcpFirst:      rtcpBad.WithLabelValues("bad_first_packet"),
		rtcpMalformed:  rtcpBad.WithLabelValues("malformed"),
		rtcpForeign:    rtcpBad.WithLabelValues("foreign_source"),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_media_sessions_active", Help: "Media sessions (one per call leg) currently open.",
		}),
		sendBatching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_rtp_send_batching",
			Help: "1 while outgoing RTP leaves in batches, one io_uring submission per clock tick and shard (rtp.send_batching); 0: one system call per packet.",
		}),
		sendBatches: counter("hotline_rtp_send_batches_total",
			"io_uring submissions that sent a clock tick's RTP packets (rtp.send_batching); hotline_rtp_packets_sent_total over this is the packets per system call."),
		receiveBatching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_rtp_receive_batching",
			Help: "1 while the media clock reads every call's RTP socket once per tick through io_uring (rtp.receive_batching); 0: a receive goroutine per call (or, after the ring failed, one system call per read).",
		}),
		receiveBatches: counter("hotline_rtp_receive_batches_total",
			"io_uring submissions that read the calls' RTP sockets (rtp.receive_batching); hotline_rtp_packets_received_total over this is the packets per system call."),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_rtp_jitter_seconds",
			Help:    "Interarrival jitter of the caller's RTP (RFC 3550 A.8) at the end of each call that received audio.",
			Buckets: []float64{.001, .002, .005, .01, .02, .03, .05, .1, .2, .5},
		}),
		mos: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_call_mos",
			Help:    "Estimated MOS (ITU-T G.107 E-model) of the audio received from the caller, per call that received audio.",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5},
		}),
		tickLate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_media_tick_lateness_seconds",
			Help:    "How long after its due time each media clock shard started a tick (the process waited for a CPU, or other work held the Go scheduler). Every call of the shard sends its frames this late; past the jitter buffers of the far end it is heard.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1},
		}),
		tickBusy: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_media_tick_seconds",
			Help:    "How long each media clock shard tick took: reading the calls' RTP, playing out and sending every stream of the shard. Near the 20 ms interval the shard cannot keep up.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .015, .02, .05},
		}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_rtp_round_trip_seconds",
			Help:    "Mean RTCP round-trip time (RFC 3550 §6.4.1) per call that measured one.",
			Buckets: []float64{.005, .01, .02, .05, .1, .15, .2, .3, .5, 1},
		}),
	}
	cs := []prometheus.Collector{m.packetsReceived, m.packetsSent, m.bytesReceived, m.bytesSent,
		garbage, dtmf, dups, sent, rtcpBad, m.dtmfDropped, m.timeouts, m.sendErrors, m.lateTicks,
		m.latches, m.sessions, m.sendBatching, m.sendBatches, m.receiveBatching, m.receiveBatches, m.concealed, m.fecRecovered, m.decodeError, m.lostPackets,
		m.latePackets, m.vadDropped, m.rtcpReceived, m.rtcpSent, m.rtcpSendErrors, m.jitter,
		m.mos, m.rtt, m.tickLate, m.tickBusy, NewUDPErrorsCollector("")}
	srtpErrors, srtpChildren := newSRTPCounters()
	m.srtp = srtpChildren
	cs = append(cs, srtpErrors)
	if ports != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hotline_rtp_ports_in_use", Help: "RTP ports held by open media sessions.",
		}, func() float64 { return float64(ports.InUse()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "hotline_rtcp_ports_in_use", Help: "RTCP ports held by open media sessions.",
			}, func() float64 { return float64(ports.RTCPInUse()) }),
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
