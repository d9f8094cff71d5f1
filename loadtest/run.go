package loadtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// generator is one run in progress.
type generator struct {
	cfg             Config
	audio           *audioSet
	energy          energyFn
	speechThreshold float64
	sdpCfg          sdp.Config
	media           *mediaPool
	sip             *sipAgent
	start           time.Time

	wg sync.WaitGroup // every call goroutine

	active    atomic.Int64
	started   atomic.Int64
	answered  atomic.Int64
	completed atomic.Int64
	failed    atomic.Int64
	peak      atomic.Int64

	mu    sync.Mutex
	calls []Call
}

// Run places calls against the engine as cfg says, waits for them to finish and
// returns what the callers experienced. It returns an error only when the run could
// not start (bad configuration, no sockets, no espeak-ng for the phrase); failed
// calls are part of the report. Cancelling ctx stops starting calls and hangs up the
// running ones.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g, err := newGenerator(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer g.close()

	mon := newMonitor(g)
	monCtx, stopMon := context.WithCancel(context.WithoutCancel(ctx))
	monDone := make(chan struct{})
	go func() { defer close(monDone); mon.run(monCtx) }()

	launchEnd := g.launch(ctx)
	g.drain(ctx)
	end := time.Now()
	stopMon()
	<-monDone
	g.media.close() // the receive goroutines stop: their aggregates are final
	return g.report(mon, launchEnd, end), nil
}

// newGenerator prepares the audio, the RTP sockets and the SIP stack.
func newGenerator(ctx context.Context, cfg Config) (*generator, error) {
	c, err := pickCodec(cfg.Codec)
	if err != nil {
		return nil, err
	}
	set, err := prepareAudio(ctx, &cfg, c)
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: cfg, audio: set, speechThreshold: meanSquareThreshold(cfg.SpeechDBFS), start: time.Now()}
	switch c.Name() {
	case "PCMU":
		g.energy = mulawEnergy
	case "PCMA":
		g.energy = alawEnergy
	}
	capab := sdp.Capability{Name: c.Name(), ClockRate: c.ClockRate(), Channels: c.Channels(), PT: c.StaticPayloadType()}
	if c.Name() == "opus" {
		capab.Fmtp = "useinbandfec=1"
	}
	g.sdpCfg = sdp.Config{Codecs: []sdp.Capability{capab}, TelephoneEvent: true, Ptime: int(cfg.Ptime / time.Millisecond)}
	if g.media, err = newMediaPool(cfg.LocalIP, cfg.Sockets, cfg.ClockTick, cfg.Ptime, g.start, cfg.Logger); err != nil {
		return nil, err
	}
	if g.sip, err = newSIPAgent(&cfg); err != nil {
		g.media.close()
		return nil, err
	}
	return g, nil
}

// pickCodec finds the run's codec by name.
func pickCodec(name string) (codec.Codec, error) {
	for _, c := range codec.All() {
		if strings.EqualFold(c.Name(), name) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("loadtest: codec %s is not available in this build", name)
}

func (g *generator) close() {
	g.sip.close()
	g.media.close()
}

// launch starts calls at cfg.Rate while fewer than cfg.Concurrency are up, until
// cfg.Duration has passed, cfg.Calls were started or ctx ends. It returns when it
// stopped starting calls.
func (g *generator) launch(ctx context.Context) time.Time {
	cfg := &g.cfg
	window := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		window, cancel = context.WithDeadline(ctx, g.start.Add(cfg.Duration))
		defer cancel()
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	slots := make(chan struct{}, cfg.Concurrency)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 1; cfg.Calls == 0 || n <= cfg.Calls; n++ {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-window.Done():
				return time.Now()
			}
		}
		select {
		case slots <- struct{}{}:
		case <-window.Done():
			return time.Now()
		}
		// After waiting for a free slot, start from now rather than burst the calls
		// the wait held back: the rate is a ceiling.
		if now := time.Now(); now.Sub(next) > interval {
			next = now
		}
		next = next.Add(interval)
		g.started.Add(1)
		g.peak.Store(max(g.peak.Load(), g.active.Add(1)))
		g.wg.Add(1)
		go func(id int) {
			defer g.wg.Done()
			defer func() { <-slots }()
			r := g.runCall(ctx, id)
			g.active.Add(-1)
			g.record(r)
		}(n)
	}
	return time.Now()
}

// drain waits for the running calls; each is bounded by its CallTimeout.
func (g *generator) drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		<-done // the calls see ctx too and hang up promptly
	}
}

// record files a finished call.
func (g *generator) record(r Call) {
	if r.Setup > 0 {
		g.answered.Add(1)
	}
	if r.Completed {
		g.completed.Add(1)
	} else {
		g.failed.Add(1)
	}
	g.mu.Lock()
	g.calls = append(g.calls, r)
	g.mu.Unlock()
}
