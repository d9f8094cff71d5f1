package media

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/jitter"
	"github.com/hotline-ivr/hotline/media/rtcp"
)

// Default settings, named so the config documentation and the code agree.
const (
	DefaultPortMin       = 10000
	DefaultPortMax       = 20000
	DefaultRTPTimeout    = 30 * time.Second
	DefaultSocketBuffer  = 512 << 10
	DefaultQuarantine    = 2 * time.Second
	DefaultClockInterval = 20 * time.Millisecond
	// DefaultClockShards splits a tick's calls two ways. Four shards answered INVITEs
	// sooner on an overloaded core but left the callers' audio no steadier below the
	// limit (bench/PROFILE.md, "Shorter ticks"), so two it stays.
	DefaultClockShards = 2
	DefaultPtime       = 20 * time.Millisecond
	// DefaultJitterMinDelay and DefaultJitterMaxDelay bound the adaptive jitter buffer:
	// one frame absorbs the phase between arrival and the clock's tick; ITU-T G.114
	// puts the comfortable one-way budget at 150 ms, so more than 200 ms of buffering
	// only covers for a broken path.
	DefaultJitterMinDelay = jitter.DefaultMinDelay
	DefaultJitterMaxDelay = jitter.DefaultMaxDelay
	// DefaultRTCPInterval is RFC 3550's minimum interval between RTCP reports (Tmin,
	// §6.2); with two members a call reports every 2–6 s, first after 1–3 s.
	DefaultRTCPInterval = rtcp.MinInterval
	// DefaultDTMFMergeWindow is how far apart the same digit may arrive by two routes
	// (RFC 4733, SIP INFO, in-band) and still be reported once.
	DefaultDTMFMergeWindow = dtmf.DefaultMergeWindow
)

// In-band DTMF detection policies (Config.InbandDTMF).
const (
	// InbandDTMFAuto listens for DTMF tones in the caller's audio only when the call did
	// not negotiate telephone-event: carriers that negotiate it send digits that way,
	// and a detector would then only risk talk-off.
	InbandDTMFAuto = "auto"
	// InbandDTMFAlways listens for tones whatever was negotiated, for carriers that
	// announce telephone-event but leave tones in the audio; a key press arriving both
	// ways is reported once.
	InbandDTMFAlways = "always"
	// InbandDTMFOff never listens for tones.
	InbandDTMFOff = "off"
)

// Send batching policies (Config.SendBatching).
const (
	// SendBatchingAuto sends each clock tick's RTP packets with one io_uring
	// submission per shard where the kernel allows it (Linux 5.3 or later, io_uring
	// not disabled by sysctl or seccomp), else one system call per packet.
	SendBatchingAuto = "auto"
	// SendBatchingOff sends one system call per packet.
	SendBatchingOff = "off"
)

// Receive batching policies (Config.ReceiveBatching).
const (
	// ReceiveBatchingAuto lets the media clock read every call's RTP socket once per
	// tick through io_uring where the kernel allows it (the self-test at start proves
	// non-blocking reads and arrival timestamps), else a goroutine per call reads: an
	// epoll listing says which sockets hold data, one submission reads them.
	ReceiveBatchingAuto = "auto"
	// ReceiveBatchingMultishot is auto with each socket's read armed for good where
	// the kernel has multishot reads and deferred task work (Linux 6.1): a tick only
	// collects what came, without the listing (rxring_linux.go). It cost the same CPU
	// as auto on the benchmark machine (bench/PROFILE.md), so it is not the default.
	ReceiveBatchingMultishot = "multishot"
	// ReceiveBatchingOff reads each call's RTP socket with a goroutine of its own.
	ReceiveBatchingOff = "off"
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
	// PortMin and PortMax bound the port range: RTP uses its even ports, RTCP the odd
	// ports of PortMin..PortMax+1, chosen independently (RFC 3605 a=rtcp).
	PortMin, PortMax int
	// Timeout ends a call whose RTP stopped for this long (not while on hold); 0 disables.
	// It counts from Start and from every Configure, so a caller who has not sent yet
	// (answered, still connecting its media) gets the full timeout before being cut.
	Timeout time.Duration
	// SocketBuffer is SO_RCVBUF/SO_SNDBUF for each RTP and RTCP socket, in bytes.
	SocketBuffer int
	// Quarantine is how long a released port rests before reuse (default 2 s; 0 means the
	// default, so tests that want immediate reuse pass a nanosecond).
	Quarantine time.Duration
	// Latch is the symmetric RTP policy.
	Latch Latch
	// ClockShards is how many media clock goroutines pace the calls, their ticks
	// spread evenly over the 20 ms interval (default DefaultClockShards). A shard's
	// tick runs its calls back to back, and on a one-core engine nothing else runs
	// meanwhile, so more shards mean shorter stalls for SIP, flows and records
	// (bench/PROFILE.md) at the price of one more wake-up per interval each.
	ClockShards int
	// Jitter configures every call's jitter buffer (adaptive, on by default).
	Jitter JitterConfig
	// InbandDTMF says when to detect DTMF tones in the caller's audio: "auto" (default:
	// only when telephone-event was not negotiated), "always" or "off".
	InbandDTMF string
	// DTMFMergeWindow is how far apart in time the same digit may arrive by two routes
	// and be reported once (default 500 ms).
	DTMFMergeWindow time.Duration
	// RTCPInterval is the minimum interval between RTCP reports (RFC 3550 §6.2 Tmin,
	// default 5 s; the actual interval is randomised around it).
	RTCPInterval time.Duration
	// SendBatching says how outgoing RTP reaches the kernel: SendBatchingAuto (the
	// default) or SendBatchingOff. Half of the engine's CPU at capacity was one
	// system call per outgoing packet (bench/PROFILE.md).
	SendBatching string
	// ReceiveBatching says how incoming RTP is read: ReceiveBatchingAuto (the
	// default), ReceiveBatchingMultishot or ReceiveBatchingOff. A receive goroutine
	// per call costs a system call and a wake-up per packet, the largest share of the
	// engine's CPU once sends were batched (bench/PROFILE.md).
	ReceiveBatching string
}

// JitterConfig is the jitter buffer part of Config. The buffer adapts its delay between
// MinDelay and MaxDelay to the jitter it measures (RFC 3550 A.8).
type JitterConfig struct {
	// MinDelay is the lowest playout delay (default 20 ms).
	MinDelay time.Duration
	// MaxDelay is the highest playout delay and the overflow limit (default 200 ms).
	MaxDelay time.Duration
	// Disabled plays each packet as soon as the clock asks for a frame, without
	// reordering or delay (loss is still concealed); for lab links without jitter.
	Disabled bool
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
	j := c.Jitter
	if j.MinDelay < 0 || j.MaxDelay < 0 {
		errs = append(errs, fmt.Errorf("media: negative jitter buffer delay %v-%v", j.MinDelay, j.MaxDelay))
	} else {
		lo, hi := cmp.Or(j.MinDelay, DefaultJitterMinDelay), cmp.Or(j.MaxDelay, DefaultJitterMaxDelay)
		if lo > hi {
			errs = append(errs, fmt.Errorf("media: jitter buffer min delay %v above max delay %v", lo, hi))
		}
	}
	switch c.InbandDTMF {
	case "", InbandDTMFAuto, InbandDTMFAlways, InbandDTMFOff:
	default:
		errs = append(errs, fmt.Errorf("media: unknown in-band DTMF policy %q (want auto, always or off)", c.InbandDTMF))
	}
	if c.DTMFMergeWindow < 0 {
		errs = append(errs, fmt.Errorf("media: negative DTMF merge window %v", c.DTMFMergeWindow))
	}
	if c.RTCPInterval < 0 {
		errs = append(errs, fmt.Errorf("media: negative RTCP interval %v", c.RTCPInterval))
	}
	switch c.SendBatching {
	case "", SendBatchingAuto, SendBatchingOff:
	default:
		errs = append(errs, fmt.Errorf("media: unknown send batching policy %q (want auto or off)", c.SendBatching))
	}
	switch c.ReceiveBatching {
	case "", ReceiveBatchingAuto, ReceiveBatchingMultishot, ReceiveBatchingOff:
	default:
		errs = append(errs, fmt.Errorf("media: unknown receive batching policy %q (want auto, multishot or off)", c.ReceiveBatching))
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
		c.ClockShards = DefaultClockShards
	}
	c.Jitter.MinDelay = cmp.Or(c.Jitter.MinDelay, DefaultJitterMinDelay)
	c.Jitter.MaxDelay = cmp.Or(c.Jitter.MaxDelay, DefaultJitterMaxDelay)
	c.InbandDTMF = cmp.Or(c.InbandDTMF, InbandDTMFAuto)
	c.DTMFMergeWindow = cmp.Or(c.DTMFMergeWindow, DefaultDTMFMergeWindow)
	c.RTCPInterval = cmp.Or(c.RTCPInterval, DefaultRTCPInterval)
	c.SendBatching = cmp.Or(c.SendBatching, SendBatchingAuto)
	c.ReceiveBatching = cmp.Or(c.ReceiveBatching, ReceiveBatchingAuto)
}

// Engine owns what every call's media shares: the RTP and RTCP port range, the media
// clock and the metrics. Calls get a Session each from NewSession.
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
	// manualReads: a manual-clock test wants the shards to read the sockets too
	// (withBatchedReceive); other manual tests keep a receive goroutine per session.
	manualReads bool

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

// withBatchedReceive lets a manual-clock engine's shards read the RTP sockets (at
// shard ticks) as a real clock's do.
func withBatchedReceive() Option { return func(e *Engine) { e.manualReads = true } }

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
	if cfg.SendBatching == SendBatchingAuto {
		err := e.clock.batchSends(m, func(err error) {
			m.sendBatching.Set(0)
			e.log.Error("batched RTP sending failed: one system call per packet from now on", "error", err)
		})
		if err != nil {
			e.log.Info("RTP sending is not batched: one system call per packet", "reason", err)
		} else {
			m.sendBatching.Set(1)
		}
	}
	if cfg.ReceiveBatching != ReceiveBatchingOff && (!e.manual || e.manualReads) {
		err := e.clock.batchReceives(m, func(err error) {
			m.receiveBatching.Set(0)
			e.log.Error("batched RTP receiving failed: the clock reads each socket with one system call from now on", "error", err)
		})
		if err != nil {
			e.log.Info("RTP receiving is not batched: a receive goroutine per call", "reason", err)
		} else {
			m.receiveBatching.Set(1)
			e.clock.multishot = cfg.ReceiveBatching == ReceiveBatchingMultishot
		}
	}
	if !e.manual {
		e.clock.late, e.clock.busy = m.tickLate, m.tickBusy
		e.clock.start()
		if e.clock.multishot {
			if errs := e.clock.multishotErrs(); errs != nil {
				e.log.Info("RTP receiving: an epoll listing says which sockets to read at each tick (no multishot reads)", "reason", errors.Join(errs...))
			} else {
				e.log.Debug("RTP receiving: multishot reads, collected at each tick")
			}
		}
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

// RTCPPortsInUse is the number of RTCP ports held by open sessions (one per session, from
// a pool of its own), the other half of the leak check.
func (e *Engine) RTCPPortsInUse() int { return e.ports.RTCPInUse() }

// Sessions is the number of open sessions.
func (e *Engine) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// NewSession binds an RTP socket and an RTCP socket, each on a free port of the range
// (the RTCP port is independent of the RTP port: announce it with RTCPAddr), and starts
// receiving on both. The session sends nothing until Configure and Start; log should
// carry the call's id.
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
	var (
		port    int
		conn    *net.UDPConn
		raw     *rawUDP
		closeRT func() error
		err     error
	)
	if e.clock.reads() {
		port, raw, err = bindPort(e.ports.Acquire, e.ports.Release, "RTP", e.listenRaw)
		closeRT = func() error { return raw.Close() }
	} else {
		port, conn, err = bindPort(e.ports.Acquire, e.ports.Release, "RTP", e.listen)
		closeRT = func() error { return conn.Close() }
	}
	if err != nil {
		return nil, err
	}
	rtcpPort, rtcpConn, err := bindPort(e.ports.AcquireRTCP, e.ports.ReleaseRTCP, "RTCP", e.listen)
	if err != nil {
		closeRT()
		e.ports.Release(port)
		return nil, err
	}
	s := newSession(e, conn, port, rtcpConn, rtcpPort, log)
	if raw != nil {
		if err := s.attachRaw(raw); err != nil {
			closeRT()
			rtcpConn.Close()
			e.ports.Release(port)
			e.ports.ReleaseRTCP(rtcpPort)
			return nil, err
		}
	}
	e.mu.Lock()
	if e.closed { // Close ran while we were binding: it cannot see this session
		e.mu.Unlock()
		if raw != nil {
			s.shard.rx.unregister(s)
			closeRT = func() error { return s.shard.closing(raw.Close) }
		}
		closeRT()
		rtcpConn.Close()
		e.ports.Release(port)
		e.ports.ReleaseRTCP(rtcpPort)
		return nil, ErrEngineClosed
	}
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	e.metrics.sessions.Inc()
	s.startReceiving()
	return s, nil
}

// bindPort takes a port from the allocator and binds it with listen, skipping ports
// another program holds (they rest in quarantine) a few times before giving up.
func bindPort[T any](acquire func() (int, error), release func(int), what string, listen func(int) (T, error)) (int, T, error) {
	var zero T
	for attempts := 0; ; attempts++ {
		port, err := acquire()
		if err != nil {
			return 0, zero, err
		}
		sock, err := listen(port)
		if err == nil {
			return port, sock, nil
		}
		release(port)
		if attempts < 16 && errors.Is(err, syscall.EADDRINUSE) {
			continue // another program holds it: it rests in quarantine, try the next
		}
		return 0, zero, fmt.Errorf("media: bind %s port %d: %w", what, port, err)
	}
}

// listenRaw binds an RTP socket the clock shards read (rxbatch_linux.go).
func (e *Engine) listenRaw(port int) (*rawUDP, error) {
	return listenRaw(e.cfg.BindIP, port, e.cfg.SocketBuffer)
}

func (e *Engine) listen(port int) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.BindIP, uint16(port))))
	if err != nil {
		return nil, err
	}
	// Default buffers drop bursts (measured: 256 of 2,000 datagrams arrived with the
	// defaults, all of them with 4 MiB), so size them from config, for RTP and RTCP
	// sockets alike. hotline_udp_receive_buffer_errors_total shows what the kernel
	// still drops.
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
		if s.tp == nil {
			e.ports.Release(s.port)
			e.ports.ReleaseRTCP(s.rtcpPort)
		}
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
