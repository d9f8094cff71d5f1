package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// MediaConfig describes a media-only run: one G.711 stream to each target, no SIP.
// The capacity benchmark uses it against bench/udpprobe to measure the raw UDP
// ceiling of the machine with exactly the measurement code the SIP runs use.
type MediaConfig struct {
	// Targets are the far ends, one stream each. Each must answer from the port it
	// is sent to (symmetric RTP), as bench/udpprobe and the engine do.
	Targets []netip.AddrPort
	// LocalIP is the address the sockets bind to. Default 127.0.0.1.
	LocalIP netip.Addr
	// Rate is streams started per second (0: all at once, at random phases).
	Rate float64
	// Hold is how long every stream runs once all have started. Required.
	Hold time.Duration
	// Sockets and ClockTick as in Config.
	Sockets   int
	ClockTick time.Duration
	// PeerPID, when set, has that process's CPU and memory sampled (the "engine").
	PeerPID int
	// Progress and Logger as in Config.
	Progress io.Writer
	Logger   *slog.Logger
	// Criteria apply to the RTP figures (setup and completion are met trivially).
	Criteria Criteria
}

// RunMedia runs the streams and reports them as calls of a Report: Calls counts
// streams, "completed" meaning the far end's packets arrived.
func RunMedia(ctx context.Context, mc MediaConfig) (*Report, error) {
	if len(mc.Targets) == 0 {
		return nil, errors.New("loadtest: no media targets")
	}
	if mc.Hold <= 0 {
		return nil, errors.New("loadtest: media run needs a hold time")
	}
	cfg := Config{
		Target: mc.Targets[0].String(), LocalIP: mc.LocalIP, Concurrency: len(mc.Targets),
		Rate: max(mc.Rate, 1), Calls: len(mc.Targets), Mode: ModeSignalling, Sockets: mc.Sockets,
		ClockTick: mc.ClockTick, EnginePID: mc.PeerPID, Progress: mc.Progress, Logger: mc.Logger,
		Criteria: mc.Criteria, Codec: "PCMU",
	}.withDefaults()
	g := &generator{cfg: cfg, energy: mulawEnergy, speechThreshold: meanSquareThreshold(cfg.SpeechDBFS), start: time.Now()}
	silence, err := encodeClip(codec.PCMU, make([]int16, 160), 160)
	if err != nil {
		return nil, err
	}
	g.audio = &audioSet{codec: codec.PCMU, idle: silence}
	if g.media, err = newMediaPool(cfg.LocalIP, cfg.Sockets, cfg.ClockTick, cfg.Ptime, g.start, cfg.Logger); err != nil {
		return nil, err
	}
	defer g.media.close()

	mon := newMonitor(g)
	monCtx, stopMon := context.WithCancel(context.WithoutCancel(ctx))
	monDone := make(chan struct{})
	go func() { defer close(monDone); mon.run(monCtx) }()

	streams := make([]*stream, len(mc.Targets))
	var interval time.Duration
	if mc.Rate > 0 {
		interval = time.Duration(float64(time.Second) / mc.Rate)
	}
	next := time.Now()
	for i, t := range mc.Targets {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			next = next.Add(interval)
		}
		p := streamParams{
			remote: t, sending: true, pt: 0, clockRate: 8000, tsPerFrame: 160, ptimeMs: 20,
			energy: mulawEnergy, idle: silence,
		}
		streams[i] = newStream(p, g.speechThreshold, cfg.PromptGap, cfg.Ptime)
		streams[i].start(g.media.pick(), time.Now())
		g.started.Add(1)
		g.active.Add(1)
		g.peak.Store(g.active.Load())
	}
	launchEnd := time.Now()
	select {
	case <-time.After(mc.Hold):
	case <-ctx.Done():
	}
	for i, st := range streams {
		st.stop()
		m := st.result()
		c := Call{ID: i + 1, Start: g.start, Completed: m.received > 0, Duration: time.Since(g.start)}
		if !c.Completed {
			c.Failure = "no packets from " + mc.Targets[i].String()
		}
		c.Media = CallMedia{
			Sent: m.sent, Received: m.received, Expected: m.expected, Lost: m.lost, LateOrDup: m.lateOrDup,
			JitterMs: round3(m.jitter / 1e6), MaxJitterMs: round3(m.maxJitter / 1e6), MaxGapMs: round3(float64(m.maxGap) / 1e6),
			Skipped: m.skipped,
		}
		g.active.Add(-1)
		g.record(c)
	}
	end := time.Now()
	stopMon()
	<-monDone
	g.media.close()
	r := g.report(mon, launchEnd, end)
	r.Tool = fmt.Sprintf("hotline loadtest (media only, %d streams)", len(mc.Targets))
	return r, nil
}
