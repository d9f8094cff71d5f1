package sip

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
)

// RTP ports this package's tests use; no other package's tests use them.
const (
	testPortMin = 31000
	testPortMax = 31998
)

// Short SIP timers for tests: 64*T1 is 2.56 s instead of 32 s.
const (
	testT1 = 40 * time.Millisecond
	testT2 = 320 * time.Millisecond
)

// testEnv is one SIP server with a real media engine on loopback, a scripted handler
// and a leak check that runs when the test ends.
type testEnv struct {
	t       testing.TB
	srv     *Server
	eng     *media.Engine
	reg     *prometheus.Registry
	handler *testHandler
	logs    *syncBuffer
	udpAddr string // host:port of the UDP listener
	tcpAddr string // host:port of the TCP listener

	serveDone chan error
	cancel    context.CancelFunc
	peers     []*peer
	rtpPeers  []*rtpPeer
}

type envConfig struct {
	sip     Config
	media   media.Config
	options []Option // more server options
}

// withOptions adds server options.
func withOptions(o ...Option) envOption {
	return func(c *envConfig) { c.options = append(c.options, o...) }
}

type envOption func(*envConfig)

// withRTPTimeout sets the media engine's RTP timeout.
func withRTPTimeout(d time.Duration) envOption {
	return func(c *envConfig) { c.media.Timeout = d }
}

// withPorts narrows the RTP port range (within the package's).
func withPorts(lo, hi int) envOption {
	return func(c *envConfig) { c.media.PortMin, c.media.PortMax = lo, hi }
}

// withSIP adjusts the SIP configuration.
func withSIP(f func(*Config)) envOption { return func(c *envConfig) { f(&c.sip) } }

// newEnv starts a server listening on UDP and TCP 127.0.0.1 port 0. The test's
// cleanup checks that no call, RTP port or goroutine outlives it.
func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	baseline := runtime.NumGoroutine()
	ec := envConfig{
		sip: Config{
			Listen: []Listen{{"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:0"}},
			T1:     testT1,
			T2:     testT2,
		},
		media: media.Config{
			BindIP:  netip.MustParseAddr("127.0.0.1"),
			PortMin: testPortMin,
			PortMax: testPortMax,
		},
	}
	for _, o := range opts {
		o(&ec)
	}
	e := &testEnv{t: t, reg: prometheus.NewRegistry(), handler: newTestHandler(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := media.NewEngine(ec.media, media.WithRegistry(e.reg), media.WithLogger(log))
	if err != nil {
		t.Fatalf("media engine: %v", err)
	}
	e.eng = eng
	srv, err := NewServer(ec.sip, eng, e.handler, append([]Option{WithLogger(log), WithRegistry(e.reg)}, ec.options...)...)
	if err != nil {
		eng.Close()
		t.Fatalf("NewServer: %v", err)
	}
	e.srv = srv
	if err := srv.Listen(); err != nil {
		eng.Close()
		t.Fatalf("Listen: %v", err)
	}
	for _, a := range srv.Addrs() {
		switch a.Network() {
		case "udp":
			e.udpAddr = a.String()
		case "tcp":
			e.tcpAddr = a.String()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.serveDone = make(chan error, 1)
	go func() { e.serveDone <- srv.Serve(ctx) }()
	t.Cleanup(func() { e.finish(baseline) })
	return e
}

// finish is the leak check: no call and no RTP port may outlive the test's own
// traffic; after Close every goroutine the test started must be gone.
func (e *testEnv) finish(baseline int) {
	t := e.t
	t.Helper()
	waitUntil(t, 5*time.Second, "calls and RTP ports released", func() bool {
		return e.srv.ActiveCalls() == 0 && e.eng.PortsInUse() == 0
	})
	e.cancel()
	select {
	case err := <-e.serveDone:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("Serve did not return after its context ended")
	}
	e.srv.Close()
	e.eng.Close()
	for _, p := range e.peers {
		p.close()
	}
	for _, r := range e.rtpPeers {
		r.close()
	}
	// Every goroutine of the server, sipgo, the media engine and the test's peers must
	// be gone; the total may exceed the baseline only by goroutines the runtime or
	// the testing package start meanwhile (a fuzz coordinator's signal handler).
	deadline := time.Now().Add(5 * time.Second)
	var leaked []string
	for {
		leaked = ourGoroutines()
		if len(leaked) == 0 && runtime.NumGoroutine() <= baseline+goroutineSlack || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); len(leaked) > 0 || n > baseline+goroutineSlack {
		var b bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("goroutine leak: %d running, %d before the test; still in our code:\n%s\nall:\n%s",
			n, baseline, strings.Join(leaked, "\n\n"), b.String())
	}
	if t.Failed() {
		t.Logf("server log:\n%s", e.logs.String())
	}
}

// goroutineSlack is how many goroutines foreign to the code under test (the runtime's
// or the testing package's) may appear during a test.
const goroutineSlack = 2

// ourGoroutines returns the stacks of the goroutines, other than the caller's and the
// test runners', that run code of sipgo or hotline: after Close there must be none.
func ourGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := strings.Split(string(buf), "\n\n")
	var ours []string
	for _, st := range stacks[1:] { // the first is the caller's
		if strings.Contains(st, "testing.tRunner(") || strings.Contains(st, "testing.runFuzzing(") {
			continue // a parent test waiting in t.Run, or the fuzz coordinator
		}
		if strings.Contains(st, "github.com/emiago/sipgo") || strings.Contains(st, "github.com/hotline-ivr/hotline/") {
			ours = append(ours, st)
		}
	}
	return ours
}

// waitUntil polls cond until it holds or the deadline passes (then the test fails).
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out after %v waiting for: %s", d, what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns the value of the series name{labels} on the env's registry (0 when
// absent); labels not given are not compared, matching series are summed.
func (e *testEnv) metric(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatalf("gather metrics: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// checkMetric fails the test unless name{labels} reaches want within a second: the
// server counts a response once it is on the wire, so the caller may see it first.
func (e *testEnv) checkMetric(want float64, name string, labels ...string) {
	e.t.Helper()
	deadline := time.Now().Add(time.Second)
	got := e.metric(name, labels...)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		got = e.metric(name, labels...)
	}
	if got != want {
		e.t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// testHandler hands every call to the function the test installed (the default rings,
// answers and waits for the call to end) and records what happened.
type testHandler struct {
	calls    chan *Call
	count    atomic.Int32
	fn       atomic.Pointer[func(context.Context, *Call)]
	returned chan *Call
}

func newTestHandler() *testHandler {
	h := &testHandler{calls: make(chan *Call, 64), returned: make(chan *Call, 64)}
	h.set(answerAndWait)
	return h
}

func (h *testHandler) set(fn func(context.Context, *Call)) { h.fn.Store(&fn) }

func (h *testHandler) HandleCall(ctx context.Context, c *Call) {
	h.count.Add(1)
	select {
	case h.calls <- c:
	default:
	}
	(*h.fn.Load())(ctx, c)
	select {
	case h.returned <- c:
	default:
	}
}

// call waits for the next call the handler received.
func (h *testHandler) call(t testing.TB) *Call {
	t.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatalf("handler got no call")
		return nil
	}
}

// answerAndWait is the default handler: 180, 200, then stay until the call ends.
func answerAndWait(ctx context.Context, c *Call) {
	if err := c.Ring(ctx); err != nil {
		return
	}
	if err := c.Answer(ctx); err != nil {
		return
	}
	<-ctx.Done()
}

// syncBuffer is an io.Writer safe for the concurrent log writes of calls.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) contains(sub string) bool { return strings.Contains(s.String(), sub) }

var _ io.Writer = (*syncBuffer)(nil)

// signal is a one-shot trigger a test fires to make its handler act.
type signal chan struct{}

func newSignal() signal { return make(signal) }

func (s signal) fire() { close(s) }
