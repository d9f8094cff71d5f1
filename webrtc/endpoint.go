package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
)

// ErrClosed is returned by New's endpoint once Close was called; pages then get the
// "internal" error instead of a call.
var ErrClosed = errors.New("webrtc: endpoint closed")

// Handler runs one browser call, as a SIP server's handler runs one INVITE: usually
// the flow runtime (ivr). ctx ends when the call ends, whoever ended it; when the
// handler returns the call is hung up.
type Handler func(ctx context.Context, ch *Call)

// Endpoint serves browser calls: the signalling WebSocket, the /call page, and a pion
// PeerConnection per call whose audio runs through a media.Session of the engine.
// Create it with New, mount it with Register, stop it with Close.
type Endpoint struct {
	cfg     Config
	eng     *media.Engine
	handler Handler
	log     *slog.Logger
	reg     prometheus.Registerer
	m       *metrics
	api     *webrtc.API
	mux     net.PacketConn // the ICE UDP mux socket, when Config.UDPMuxPort is set
	iceMux  interface{ Close() error }

	desk  AgentDesk // the agent softphone, when WithAgents is given
	auth  AgentAuth
	music *bridge.Music // what a held caller hears (WithHoldMusic)
	synth Synthesizer   // speaks whispers to agents (WithWhisper); nil: shown only
	voice string

	admit     Admitter      // WithAdmission; nil: only Config.MaxCalls limits calls
	onRefused func(Refusal) // told of every call admit refused

	// loopbackOnly restricts candidates to loopback (tests: network only on loopback).
	loopbackOnly bool

	ctx    context.Context // ends at Close: no new calls
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the endpoint or its calls start

	mu     sync.Mutex
	calls  map[*Call]struct{}
	closed bool
}

// Admitter is the engine's admission control (its call, call-rate and CPU limits),
// asked before any media session or peer connection is made for a browser call, so
// an overloaded engine turns a page away as cheaply as SIP answers an INVITE 503. The
// endpoint calls release once, when an admitted call ends.
type Admitter func() (release func(), err error)

// Refusal is a browser call the Admitter refused, for its call record: the page was
// told "busy" with Err's text.
type Refusal struct {
	CallID, Caller, Called string
	Source                 string // the page's address
	Err                    error  // the Admitter's reason
}

// WithAdmission asks admit before each browser call's media is set up; refused (may
// be nil) is told of every call it turned away and must not block.
func WithAdmission(admit Admitter, refused func(Refusal)) Option {
	return func(e *Endpoint) { e.admit, e.onRefused = admit, refused }
}

// Option adjusts an Endpoint at construction.
type Option func(*Endpoint)

// WithLogger sets the logger (default slog.Default()); call lines add call_id.
func WithLogger(l *slog.Logger) Option { return func(e *Endpoint) { e.log = l } }

// WithRegistry registers the endpoint's metrics on reg (default: not registered).
func WithRegistry(reg prometheus.Registerer) Option { return func(e *Endpoint) { e.reg = reg } }

// withLoopbackOnly gathers loopback candidates only: the browser tests keep every
// packet on the loopback interface.
func withLoopbackOnly() Option { return func(e *Endpoint) { e.loopbackOnly = true } }

// New validates cfg and returns an endpoint that runs handler for each browser call,
// with media from eng.
func New(cfg Config, eng *media.Engine, handler Handler, opts ...Option) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eng == nil || handler == nil {
		return nil, errors.New("webrtc: New needs a media engine and a handler")
	}
	cfg.setDefaults()
	e := &Endpoint{cfg: cfg, eng: eng, handler: handler, calls: map[*Call]struct{}{}}
	for _, o := range opts {
		o(e)
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.desk != nil && e.auth == nil {
		e.auth = tokenAuth(cfg.AgentTokens)
	}
	if e.music == nil {
		e.music, _ = bridge.NewMusic("") // the built-in tune: no file, no error
	}
	e.log = e.log.With("component", "webrtc")
	m, err := newMetrics(e.reg)
	if err != nil {
		return nil, err
	}
	e.m = m
	if err := e.buildAPI(); err != nil {
		return nil, err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// buildAPI makes the pion API every PeerConnection shares: codecs, the default
// interceptors (RTCP sender and receiver reports, NACK, statistics) and the ICE
// settings of Config.
func (e *Endpoint) buildAPI() error {
	me, err := newMediaEngine()
	if err != nil {
		return err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return fmt.Errorf("webrtc: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{e.log}}
	// Detect a closed tab or a lost network in seconds, not pion's 30 s default.
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	nets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if e.cfg.IPv6 {
		nets = append(nets, webrtc.NetworkTypeUDP6)
	}
	se.SetNetworkTypes(nets)
	se.SetIncludeLoopbackCandidate(e.cfg.IncludeLoopback || e.loopbackOnly)
	if e.loopbackOnly {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	// mDNS candidates would hide nothing on a server and cost a multicast socket.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(e.cfg.PublicIPs) > 0 {
		// 1:1 NAT: announce the public address instead of the private one.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        e.cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return fmt.Errorf("webrtc: public_ips: %w", err)
		}
	}
	switch {
	case e.cfg.UDPMuxPort != 0:
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.BindIP, uint16(e.cfg.UDPMuxPort))))
		if err != nil {
			return fmt.Errorf("webrtc: binding ICE UDP mux port %d: %w", e.cfg.UDPMuxPort, err)
		}
		mux := webrtc.NewICEUDPMux(nil, conn)
		se.SetICEUDPMux(mux)
		e.mux, e.iceMux = conn, mux
	case e.cfg.PortMin != 0:
		if err := se.SetEphemeralUDPPortRange(e.cfg.PortMin, e.cfg.PortMax); err != nil {
			return fmt.Errorf("webrtc: port range: %w", err)
		}
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return nil
}

// iceServers converts the configured servers for pion, with the engine's own
// short-lived TURN credentials when Config.TURN has a secret.
func (e *Endpoint) iceServers(now time.Time) []webrtc.ICEServer {
	list := e.iceServersFor(turnEngineUser, now)
	out := make([]webrtc.ICEServer, 0, len(list))
	for _, s := range list {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// Calls reports how many browser calls are up.
func (e *Endpoint) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// register adds c to the calls unless the endpoint is closed or full.
func (e *Endpoint) register(c *Call) (code string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return errInternal, ErrClosed
	case e.cfg.MaxCalls > 0 && len(e.calls) >= e.cfg.MaxCalls:
		return errBusy, fmt.Errorf("webrtc: %d calls up, max_calls reached", len(e.calls))
	}
	e.calls[c] = struct{}{}
	return "", nil
}

func (e *Endpoint) forget(c *Call) {
	e.mu.Lock()
	delete(e.calls, c)
	e.mu.Unlock()
}

// Close refuses new calls, hangs up every call (the pages are told "shutdown"), and
// waits for every goroutine of the endpoint, its calls and their handlers. Handlers
// must return once their ctx ends. It is idempotent.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	calls := make([]*Call, 0, len(e.calls))
	for c := range e.calls {
		calls = append(calls, c)
	}
	e.mu.Unlock()
	e.cancel()
	for _, c := range calls {
		c.end("shutdown", "", "")
	}
	e.wg.Wait()
	if e.iceMux != nil {
		return e.iceMux.Close()
	}
	return nil
}

// newCallID is a random id, unique enough to key logs and records.
func newCallID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "webrtc-" + hex.EncodeToString(b[:])
}

// Register mounts the endpoint on mux: the click-to-call page at GET /call, its
// script and style under BasePath, and the signalling WebSocket at BasePath+"/ws";
// with WithAgents also the softphone page at GET /agent and its WebSocket at
// BasePath+"/agent/ws".
func (e *Endpoint) Register(mux *http.ServeMux) {
	b := e.cfg.BasePath
	mux.HandleFunc("GET /call", e.servePage(callPage))
	if e.desk != nil && e.auth != nil {
		mux.HandleFunc("GET /agent", e.servePage(agentPage))
		mux.HandleFunc("GET "+b+"/agent/ws", e.serveAgent)
	}
	mux.HandleFunc("GET "+b+"/ws", e.serveSignalling)
	mux.Handle("GET "+b+"/static/", http.StripPrefix(b+"/static/", staticFiles()))
}
