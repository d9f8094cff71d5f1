package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Default settings, named so the config documentation and the code agree.
const (
	DefaultPortMin       = 10000
	DefaultPortMax       = 20000
	DefaultRTPTimeout    = 30 * time.Second
	DefaultSocketBuffer  = 512 << 10
	DefaultQuarantine    = 2 * time.Second
	DefaultClockInterval = 20 * time.Millisecond
	DefaultPtime         = 20 * time.Millisecond
)

// Latch says when a session may redirect its outgoing RTP to the source its caller's
// packets really come from (symmetric RTP, for callers behind NAT).
type Latch int

const (
	// LatchUnknown is the zero value; NewEngine treats it as LatchAuto.
	LatchUnknown Latch = iota
	// LatchAuto latches only to a source whose IP is the SDP-announced IP or the IP the
	// SIP signalling came from, so a third party who sends packets first cannot hijack
	// the call's audio. Packets from other addresses are dropped and counted.
	LatchAuto
	// LatchAny latches to the first source, whatever it is (classic "comedia").
	LatchAny
	// LatchOff always sends to the SDP-announced address and accepts any source.
	LatchOff
)

// ParseLatch reads the config spelling of a latch policy.
func ParseLatch(s string) (Latch, error) {
	switch s {
	case "", "auto":
		return LatchAuto, nil
	case "any":
		return LatchAny, nil
	case "off":
		return LatchOff, nil
	}
	return LatchUnknown, fmt.Errorf("media: unknown symmetric RTP policy %q (want auto, any or off)", s)
}

// Config is the media part of the engine configuration.
type Config struct {
	// BindIP is the local address RTP sockets bind to.
	BindIP netip.Addr
	// PortMin and PortMax bound the RTP port range (even ports are used).
	PortMin, PortMax int
	// Timeout ends a call whose RTP stopped for this long (not while on hold); 0 disables.
	// It counts from Start and from every Configure, so a caller who has not sent yet
	// (answered, still connecting its media) gets the full timeout before being cut.
	Timeout time.Duration
	// SocketBuffer is SO_RCVBUF/SO_SNDBUF for each RTP socket, in bytes.
	SocketBuffer int
	// Quarantine is how long a released port rests before reuse (default 2 s; 0 means the
	// default, so tests that want immediate reuse pass a nanosecond).
	Quarantine time.Duration
	// Latch is the symmetric RTP policy.
	Latch Latch
	// ClockShards is how many media clock goroutines pace the calls (default: 2).
	ClockShards int
}

// ErrEngineClosed is returned by NewSession once the engine is closed (the process is
// shutting down), so the SIP layer answers new calls with 503 instead of half-setting them up.
var ErrEngineClosed = errors.New("media: engine closed")

// Validate reports every problem of the configuration at once, so an operator fixes the
// file in one pass. Zero values mean "default" and are valid.
func (c Config) Validate() error {
	var errs []error
	if c.PortMin != 0 || c.PortMax != 0 {
		if c.PortMin < 1024 || c.PortMax > 65534 || c.PortMin > c.PortMax {
			errs = append(errs, fmt.Errorf("media: invalid RTP port range %d-%d (want 1024 <= min <= max <= 65534)", c.PortMin, c.PortMax))
		} else if c.PortMin == c.PortMax && c.PortMin%2 != 0 {
			errs = append(errs, fmt.Errorf("media: RTP port range %d-%d holds no even port", c.PortMin, c.PortMax))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("media: negative RTP timeout %v", c.Timeout))
	}
	if c.SocketBuffer < 0 {
		errs = append(errs, fmt.Errorf("media: negative socket buffer %d", c.SocketBuffer))
	}
	if c.Quarantine < 0 {
		errs = append(errs, fmt.Errorf("media: negative port quarantine %v", c.Quarantine))
	}
	if c.Latch < LatchUnknown || c.Latch > LatchOff {
		errs = append(errs, fmt.Errorf("media: unknown symmetric RTP policy %d", c.Latch))
	}
	if c.ClockShards < 0 {
		errs = append(errs, fmt.Errorf("media: negative clock shard count %d", c.ClockShards))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if !c.BindIP.IsValid() {
		c.BindIP = netip.MustParseAddr("127.0.0.1")
	}
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = DefaultPortMin, DefaultPortMax
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.Quarantine == 0 {
		c.Quarantine = DefaultQuarantine
	}
	if c.Latch == LatchUnknown {
		c.Latch = LatchAuto
	}
	if c.ClockShards == 0 {
		c.ClockShards = 2
	}
}

// Engine owns what every call's media shares: the RTP port range, the media clock and
// the metrics. Calls get a Session each from NewSession.
type Engine struct {
	cfg     Config
	ports   *PortAllocator
	clock   *Clock
	metrics *Metrics
	reg     prometheus.Registerer
	log     *slog.Logger
	epoch   time.Time // monotonic origin of the sessions' atomic timestamps
	slack   time.Duration
	manual  bool // tests: the clock has no goroutines, the test calls tick itself

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
}

// Option adjusts an Engine at construction.
type Option func(*Engine)

// WithLogger sets the engine's logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithRegistry registers the media metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(e *Engine) { e.reg = reg }
}

// withManualClock builds the engine's clock without goroutines: a test drives the
// sessions with tick(now) and gets exact, repeatable packet timing.
func withManualClock() Option { return func(e *Engine) { e.manual = true } }

// NewEngine validates cfg, prepares the port range and starts the media clock.
func NewEngine(cfg Config, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	e := &Engine{cfg: cfg, log: slog.Default(), epoch: time.Now(), sessions: make(map[*Session]struct{})}
	for _, o := range opts {
		o(e)
	}
	ports, err := NewPortAllocator(cfg.PortMin, cfg.PortMax, cfg.Quarantine, nil)
	if err != nil {
		return nil, err
	}
	e.ports = ports
	m, err := NewMetrics(e.reg, ports)
	if err != nil {
		return nil, err
	}
	e.metrics = m
	e.clock = newClock(cfg.ClockShards, DefaultClockInterval)
	// A frame due within a quarter tick is sent now rather than a whole tick late: the
	// ticker's wake-ups jitter by a millisecond or so, and without slack a wake-up that
	// comes a hair early would send nothing and the next one two frames at once.
	e.slack = e.clock.interval / 4
	if !e.manual {
		e.clock.start()
	}
	return e, nil
}

// mono turns t into nanoseconds since the engine started, on the monotonic clock, so
// the sessions can keep times in atomics and a wall-clock step (NTP) never fires a
// timeout. It is never 0, which the sessions use for "not yet".
func (e *Engine) mono(t time.Time) int64 { return int64(t.Sub(e.epoch)) | 1 }

// Config returns the effective configuration (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// PortsInUse is the number of RTP ports held by open sessions; tests use it as a leak check.
func (e *Engine) PortsInUse() int { return e.ports.InUse() }

// Sessions is the number of open sessions.
func (e *Engine) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// NewSession binds an RTP socket on a free port of the range and starts receiving on it.
// The session sends nothing until Configure and Start; log should carry the call's id.
func (e *Engine) NewSession(log *slog.Logger) (*Session, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrEngineClosed
	}
	if log == nil {
		log = e.log
	}
	for attempts := 0; ; attempts++ {
		port, err := e.ports.Acquire()
		if err != nil {
			return nil, err
		}
		conn, err := e.listen(port)
		if err != nil {
			e.ports.Release(port)
			if attempts < 16 && errors.Is(err, syscall.EADDRINUSE) {
				continue // another program holds it: it rests in quarantine, try the next
			}
			return nil, fmt.Errorf("media: bind RTP port %d: %w", port, err)
		}
		s := newSession(e, conn, port, log)
		e.mu.Lock()
		if e.closed { // Close ran while we were binding: it cannot see this session
			e.mu.Unlock()
			conn.Close()
			e.ports.Release(port)
			return nil, ErrEngineClosed
		}
		e.sessions[s] = struct{}{}
		e.mu.Unlock()
		e.metrics.sessions.Inc()
		s.startReceiving()
		return s, nil
	}
}

func (e *Engine) listen(port int) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.BindIP, uint16(port))))
	if err != nil {
		return nil, err
	}
	// Default buffers drop bursts (measured: 256 of 2,000 datagrams arrived with the
	// defaults, all of them with 4 MiB), so size them from config.
	if err := conn.SetReadBuffer(e.cfg.SocketBuffer); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.SetWriteBuffer(e.cfg.SocketBuffer); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (e *Engine) release(s *Session) {
	e.mu.Lock()
	_, ok := e.sessions[s]
	delete(e.sessions, s)
	e.mu.Unlock()
	if ok {
		e.ports.Release(s.port)
		e.metrics.sessions.Dec()
	}
}

// Close closes every open session and stops the media clock. It is idempotent; sessions
// asked for afterwards get ErrEngineClosed.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	open := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		open = append(open, s)
	}
	e.mu.Unlock()
	for _, s := range open {
		s.Close()
	}
	e.clock.Close()
}
