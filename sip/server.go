package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip/auth"
)

func init() {
	// sipgo sends 100 Trying on its own when the application has not answered an
	// INVITE within Timer_1xx, building it on a timer goroutine from the INVITE we
	// are handling. hotline sends its own 100 Trying as soon as an INVITE passes its
	// header checks, and writes its To tag into that INVITE first (see onInvite), so
	// the timer adds nothing but a read of the request concurrent with our write when
	// the handler is scheduled late on a loaded host. Setting it here, before any
	// transaction exists, keeps the write race-free (package init happens before
	// every goroutine of the program).
	gosip.Timer_1xx = 24 * time.Hour
}

// Handler runs a call that the SIP layer accepted. HandleCall owns the call until it
// returns; the SIP layer hangs up a call whose handler returned while it was still up.
// ctx ends when the call ends, whoever ended it.
type Handler interface {
	HandleCall(ctx context.Context, c *Call)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Call)

// HandleCall calls f.
func (f HandlerFunc) HandleCall(ctx context.Context, c *Call) { f(ctx, c) }

// MediaEngine is what the SIP layer needs from media: one RTP session per call.
type MediaEngine interface {
	NewSession(log *slog.Logger) (*media.Session, error)
}

// Listen is one SIP listening socket.
type Listen struct {
	// Transport is "udp", "tcp" or "tls" (Config.TLS gives the certificate).
	Transport string
	// Addr is host:port; port 0 picks a free port (tests).
	Addr string
}

// Config is the SIP part of the engine configuration.
type Config struct {
	// Listen lists the sockets to serve; default UDP and TCP on 127.0.0.1:5060.
	Listen []Listen
	// Host is the address written into Contact and Via headers; default the first
	// listen address's host. Set it to the public address behind 1:1 NAT.
	Host string
	// MediaIP is the address written into SDP c= lines; default the media bind address.
	MediaIP netip.Addr
	// UserAgent is the User-Agent/Server header value.
	UserAgent string
	// Codecs are the audio codecs the engine uses, in its preference for offers.
	Codecs []codec.Codec
	// Ptime is the packet time the engine asks for (default 20 ms).
	Ptime time.Duration
	// T1 is the round-trip estimate of RFC 3261 §17.1.1.1 that paces the
	// retransmissions of a 2xx to an INVITE (T1, 2*T1, 4*T1 ... capped at T2,
	// §13.3.1.4) and bounds the wait for a BYE's answer (64*T1, Timer F).
	// Default 500 ms (DefaultT1). sipgo's package-level timers are left alone:
	// they are process-global and a library must not change them.
	T1 time.Duration
	// T2 caps the 2xx retransmission interval (RFC 3261 §17.1.2.2); default 4 s.
	T2 time.Duration
	// AckTimeout is how long a 2xx to an INVITE waits for its ACK before the
	// call is ended with a BYE (RFC 3261 §13.3.1.4); default 64*T1 (32 s).
	AckTimeout time.Duration
	// ShutdownTimeout bounds how long Close waits for the BYEs (and their
	// answers) of the calls it hangs up; default 2 s.
	ShutdownTimeout time.Duration
	// Trunks are the carriers outbound calls go through (and register with); see
	// TrunkConfig. NewServer checks them with ValidateTrunks.
	Trunks []TrunkConfig
	// ReferNotifyTimeout is how long Call.Refer waits for the transferee's next
	// NOTIFY (RFC 3515 §2.4.4) before it takes the 202 alone as success; default 5 s.
	ReferNotifyTimeout time.Duration
	// ReferTimeout bounds the whole wait for the transfer's final NOTIFY (the
	// target may ring a while); default 2 min.
	ReferTimeout time.Duration
	// Inbound is the inbound call policy: trusted sources, inbound trunks (source,
	// host and digest matching, number normalization). The zero value trusts
	// loopback only: calls from anywhere else get 403.
	Inbound InboundConfig
	// Route picks the flow of an inbound call from its Info (Trunk and Called are
	// final when it runs; Router.Route is one). ok false: the call gets 404. nil:
	// every number is accepted and Info.Flow stays "".
	Route func(info Info) (flow string, ok bool)
	// Guard, when set, is the flood and brute-force guard: banned sources are
	// dropped before parsing, requests are rate-limited per source address,
	// failed authentications and scanners are banned and new calls are admitted
	// within its concurrency and calls-per-second limits. See sip/guard.
	Guard Guard
	// TLS holds the certificate and key files of "tls" listeners.
	TLS TLSConfig
	// MaxMessageSize is the largest SIP message accepted (bytes); default 64 KiB.
	MaxMessageSize int
	// Conns bounds inbound TCP and TLS connections: per source, in total, and the
	// time a message may take to arrive (slow-loris defence, connlimit.go).
	Conns ConnLimits
}

// Default SIP settings.
const (
	DefaultListenAddr = "127.0.0.1:5060"
	DefaultUserAgent  = "hotline"
	// DefaultT1 is RFC 3261's default round-trip estimate (§17.1.1.1).
	DefaultT1 = 500 * time.Millisecond
	// DefaultT2 is RFC 3261's default cap on retransmission intervals (§17.1.2.2).
	DefaultT2 = 4 * time.Second
	// DefaultShutdownTimeout bounds the hang-up of live calls in Close.
	DefaultShutdownTimeout = 2 * time.Second
	// DefaultReferNotifyTimeout and DefaultReferTimeout bound Call.Refer's waits.
	DefaultReferNotifyTimeout = 5 * time.Second
	DefaultReferTimeout       = 2 * time.Minute
)

// Server is hotline's SIP user agent: it terminates inbound calls, negotiates their
// media and hands each one to a Handler as a Call; it places outbound calls (Dial),
// directly or through trunks, and keeps the trunks' registrations.
type Server struct {
	cfg     Config
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	media   MediaEngine
	handler Handler
	metrics *Metrics
	reg     prometheus.Registerer
	log     *slog.Logger
	contact map[string]string // transport -> host:port for Contact headers

	mu        sync.Mutex
	calls     map[dialogKey]*Call
	invites   map[mergeKey]*Call // the same calls, by initial INVITE (§8.2.2.2)
	listeners []io.Closer
	addrs     []net.Addr
	udpLocal  net.UDPAddr // the first UDP listener: outbound requests leave from it
	draining  bool
	accepting bool               // Serve runs: outbound calls may start
	ready     chan struct{}      // closed when accepting becomes true
	dialing   map[*Call]struct{} // outbound calls not answered yet (Dial in progress)
	trunks    map[string]*trunk
	inbound   *inboundPolicy
	guard     Guard
	sec       *secMetrics
	tls       *certStore
	dialLn    *dialListener // TLS connections to trunks, handed to sipgo (trunktls.go)
	tlsDial   tlsDialer
	connLimit *connLimiter    // TCP/TLS connection limits (connlimit.go)
	inActive  int             // inbound calls in the dialog table
	registrar *registrarState // nil: REGISTER gets 405 (register.go)
	regStop   context.CancelFunc
	regs      sync.WaitGroup  // trunk registration loops
	halt      context.Context // cancelled when Close's ShutdownTimeout is over
	haltNow   context.CancelFunc
	wg        sync.WaitGroup // call goroutines
	serving   sync.WaitGroup // Serve's listener loops

	closeOnce sync.Once

	trace     func(MessageTrace) // WithMessageTrace; nil: none (trace.go)
	onRefused func(Refusal)      // WithRefusedCalls; nil: none (refused.go)
}

// dialogKey identifies a dialog from the UAS side (RFC 3261 §12): Call-ID, our tag
// (To tag) and the caller's tag (From tag).
type dialogKey struct {
	callID, localTag, remoteTag string
}

// Option adjusts a Server at construction.
type Option func(*Server)

// WithLogger sets the server logger; each call's logger derives from it with call_id.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRegistry registers the SIP metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option { return func(s *Server) { s.reg = reg } }

// NewServer builds the SIP stack. Nothing listens until Serve.
func NewServer(cfg Config, m MediaEngine, h Handler, opts ...Option) (*Server, error) {
	if m == nil || h == nil {
		return nil, errors.New("sip: server needs a media engine and a call handler")
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = []Listen{{"udp", DefaultListenAddr}, {"tcp", DefaultListenAddr}}
	}
	for _, l := range cfg.Listen {
		if l.Transport != "udp" && l.Transport != "tcp" && l.Transport != "tls" {
			return nil, fmt.Errorf("sip: unsupported transport %q (want udp, tcp or tls)", l.Transport)
		}
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if len(cfg.Codecs) == 0 {
		cfg.Codecs = codec.Builtin()
	}
	if cfg.Ptime == 0 {
		cfg.Ptime = media.DefaultPtime
	}
	if cfg.T1 <= 0 {
		cfg.T1 = DefaultT1
	}
	if cfg.T2 <= 0 {
		cfg.T2 = max(DefaultT2, cfg.T1)
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 64 * cfg.T1
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ReferNotifyTimeout <= 0 {
		cfg.ReferNotifyTimeout = DefaultReferNotifyTimeout
	}
	if cfg.ReferTimeout <= 0 {
		cfg.ReferTimeout = DefaultReferTimeout
	}
	if err := ValidateTrunks(cfg.Trunks); err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if cfg.Host == "" {
		host, _, err := net.SplitHostPort(cfg.Listen[0].Addr)
		if err != nil {
			return nil, fmt.Errorf("sip: listen address %q: %w", cfg.Listen[0].Addr, err)
		}
		cfg.Host = host
	}
	s := &Server{cfg: cfg, media: m, handler: h, log: slog.Default(), calls: make(map[dialogKey]*Call),
		invites: make(map[mergeKey]*Call), contact: make(map[string]string), dialing: make(map[*Call]struct{}),
		trunks: make(map[string]*trunk), ready: make(chan struct{})}
	s.halt, s.haltNow = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	met, err := NewMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = met
	if s.sec, err = newSecMetrics(s.reg); err != nil {
		return nil, err
	}
	if s.connLimit, err = newConnLimiter(cfg.Conns, cfg.MaxMessageSize, s.reg); err != nil {
		return nil, err
	}
	s.guard = cfg.Guard
	var authOpts []auth.Option
	if s.reg != nil {
		authOpts = append(authOpts, auth.WithRegistry(s.reg))
	}
	if s.guard != nil {
		authOpts = append(authOpts, auth.WithLimiter(s.guard))
	}
	if s.inbound, err = compileInbound(cfg.Inbound, cfg.Host, authOpts); err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	for _, l := range cfg.Listen {
		if l.Transport == "tls" && s.tls == nil {
			if cfg.TLS.CertFile == "" || cfg.TLS.KeyFile == "" {
				return nil, errors.New("sip: a tls listener needs tls.cert_file and tls.key_file")
			}
			s.tls = &certStore{certFile: cfg.TLS.CertFile, keyFile: cfg.TLS.KeyFile}
			if err := s.tls.load(); err != nil {
				return nil, err
			}
		}
	}
	for _, tc := range cfg.Trunks {
		t, err := newTrunk(tc, time.Now)
		if err != nil {
			return nil, fmt.Errorf("sip: trunk %s: %w", tc.Name, err)
		}
		if tc.Register.Enabled {
			t.reg = newRegistration(s, t)
			s.metrics.trunkRegistered(t.cfg.Name, false)
		}
		s.trunks[t.cfg.Name] = t
	}
	// sipgo logs transport chatter at info; keep only its warnings.
	quiet := slog.New(levelFilter{s.log.Handler(), slog.LevelWarn})
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.Host),
		sipgo.WithUserAgenTLSConfig(clientTLSConfig()),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet),
			gosip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet),
			gosip.WithTransportLayerReadFilter(s.readFilter)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(cfg.Host), sipgo.WithClientLogger(quiet))
	if err != nil {
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	s.srv.OnInvite(s.guarded(s.onInvite))
	s.srv.OnAck(s.guarded(s.onAck))
	s.srv.OnBye(s.guarded(s.onBye))
	s.srv.OnCancel(s.guarded(s.onCancel))
	s.srv.OnOptions(s.guarded(s.onOptions))
	s.srv.OnInfo(s.guarded(s.onInfo))
	s.srv.OnRefer(s.guarded(s.onRefer))
	s.srv.OnNotify(s.guarded(s.onNotify))
	for _, m := range []gosip.RequestMethod{gosip.SUBSCRIBE, gosip.PUBLISH, gosip.MESSAGE, gosip.PRACK, gosip.UPDATE} {
		s.srv.OnRequest(m, s.guarded(s.onNotAllowed))
	}
	// REGISTER: the registrar (register.go, sip/registrar) when configured, else 405
	// like any method we do not serve.
	if s.registrar != nil {
		if err := s.registrar.setup(s); err != nil {
			s.ua.Close()
			return nil, err
		}
		s.srv.OnRegister(s.guarded(s.onRegister))
	} else {
		s.srv.OnRequest(gosip.REGISTER, s.onNotAllowed)
	}
	s.srv.OnNoRoute(s.guarded(s.onNotImplemented))
	return s, nil
}

// Listen opens every configured socket. It returns once they are bound, so a caller
// (or a test using port 0) can read Addrs before calls arrive.
func (s *Server) Listen() error {
	for _, l := range s.cfg.Listen {
		switch l.Transport {
		case "udp":
			conn, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("sip: listen udp %s: %w", l.Addr, err)
			}
			if uc, ok := conn.(*net.UDPConn); ok {
				_ = uc.SetReadBuffer(4 << 20) // bursts of INVITEs must not be dropped by the kernel
				if s.udpLocal.IP == nil {
					s.udpLocal = *uc.LocalAddr().(*net.UDPAddr)
				}
			}
			s.listeners = append(s.listeners, conn)
			s.addrs = append(s.addrs, conn.LocalAddr())
			s.setContact("udp", conn.LocalAddr())
		case "tcp":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("sip: listen tcp %s: %w", l.Addr, err)
			}
			s.listeners = append(s.listeners, s.limitConns(ln))
			s.addrs = append(s.addrs, ln.Addr())
			s.setContact("tcp", ln.Addr())
		case "tls":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("sip: listen tls %s: %w", l.Addr, err)
			}
			tl := &tlsListener{Listener: s.limitConns(tls.NewListener(ln, s.tls.tlsConfig())), addr: ln.Addr()}
			s.listeners = append(s.listeners, tl)
			s.addrs = append(s.addrs, tl.Addr())
			s.setContact("tls", ln.Addr())
			if s.dialLn == nil {
				s.dialLn = newDialListener(ln.Addr())
				s.listeners = append(s.listeners, s.dialLn)
			}
		}
	}
	return nil
}

func (s *Server) setContact(transport string, a net.Addr) {
	if _, ok := s.contact[transport]; ok {
		return // the first socket of a transport is the one we advertise
	}
	_, port, _ := net.SplitHostPort(a.String())
	s.contact[transport] = net.JoinHostPort(s.cfg.Host, port)
}

// Addrs are the bound listening addresses (after Listen).
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Serve runs the listeners opened by Listen until ctx ends, then hangs up every call
// (their records still get written) and closes the sockets.
func (s *Server) Serve(ctx context.Context) error {
	if len(s.listeners) == 0 {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.draining { // closed already: nothing to serve
		s.mu.Unlock()
		return nil
	}
	s.serving.Add(len(s.listeners)) // under the lock Close takes before it waits
	s.mu.Unlock()
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() {
			defer s.serving.Done()
			var err error
			switch l := l.(type) {
			case net.PacketConn:
				err = s.srv.ServeUDP(l)
			case *tlsListener:
				err = s.srv.ServeTLS(l)
			case *dialListener:
				err = s.srv.ServeTLS(l)
			case net.Listener:
				err = s.srv.ServeTCP(l)
			}
			if err == nil {
				err = errors.New("listener stopped") // sipgo's UDP loop ends without error
			}
			errc <- fmt.Errorf("%s: %w", addrString(l), err)
		}()
		s.log.Info("SIP listening", "addr", addrString(l))
	}
	s.startClient()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		s.mu.Lock()
		closed := s.draining
		s.mu.Unlock()
		if closed {
			err = nil // Close shut the listeners: not a failure
		} else {
			err = fmt.Errorf("sip: serve %w", err)
		}
	}
	s.Close()
	return err
}

// startClient opens the client side once the listeners serve: outbound calls (Dial)
// and the trunks' registrations. Outbound UDP requests leave from the UDP listener,
// which sipgo's transport knows only once its read loop has started; until then
// sipgo would try to bind a second socket to the same address.
func (s *Server) startClient() {
	if s.udpLocal.IP != nil {
		tp := s.ua.TransportLayer()
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if c, err := tp.GetConnection("udp", s.udpLocal.String()); err == nil {
				_, _ = c.TryClose()
				break
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return
	}
	s.accepting = true
	close(s.ready)
	regCtx, regStop := context.WithCancel(context.Background())
	s.regStop = regStop
	for _, t := range s.trunks {
		if t.reg != nil {
			s.regs.Add(1)
			go func() {
				defer s.regs.Done()
				t.reg.run(regCtx)
			}()
		}
	}
}

// waitReady waits until Serve runs (Dial right after starting Serve on another
// goroutine is normal), ctx ends or the server closes.
func (s *Server) waitReady(ctx context.Context) error {
	s.mu.Lock()
	bound := len(s.listeners) > 0
	s.mu.Unlock()
	if !bound {
		return ErrServerClosed // Listen was never called
	}
	select {
	case <-s.ready:
		return nil
	case <-s.halt.Done():
		return ErrServerClosed
	case <-ctx.Done():
		return &CallError{Err: ErrCanceled, Reason: "server not serving yet", Cause: ctx.Err()}
	}
}

func addrString(l io.Closer) string {
	switch l := l.(type) {
	case net.PacketConn:
		return "udp:" + l.LocalAddr().String()
	case *tlsListener:
		return "tls:" + l.Addr().String()
	case *dialListener:
		return "tls-out:" + l.Addr().String()
	case net.Listener:
		return "tcp:" + l.Addr().String()
	}
	return "?"
}

// Close hangs up every live call (BYE to answered calls, 503 to ringing ones, waiting
// at most ShutdownTimeout for the answers) and removes the trunks' registrations
// (challenge round included, each within its register.unregister_timeout), waits
// for the call handlers to return, then closes the listeners and the SIP stack.
// Every call's record is complete when
// Close returns. It is idempotent; concurrent callers wait for the first.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.draining = true
		calls := make([]*Call, 0, len(s.calls)+len(s.dialing))
		seen := make(map[*Call]bool, len(s.calls))
		for _, c := range s.calls {
			calls = append(calls, c)
			seen[c] = true
		}
		for c := range s.dialing { // CANCELed; Dial returns ErrCanceled
			if !seen[c] {
				calls = append(calls, c)
			}
		}
		regStop := s.regStop
		s.mu.Unlock()
		// Every hang-up, these and any already under way (a handler's, an RTP
		// timeout's), stops waiting for ACKs and BYE answers at the deadline.
		deadline := time.AfterFunc(s.cfg.ShutdownTimeout, s.haltNow)
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.hangup(s.halt, causeShutdown, 503)
			}()
		}
		if regStop != nil {
			regStop() // each registration is removed (Expires: 0) before its loop returns
		}
		wg.Wait()
		s.wg.Wait()
		s.regs.Wait()
		deadline.Stop()
		s.haltNow()
		// Stop the input before the SIP stack: once the read loops are gone no new
		// request can enter sipgo.
		s.closeListeners()
		s.serving.Wait()
		s.ua.Close()
		s.sweepConnections()
	})
}

// sweepConnections closes connections sipgo opened after ua.Close. A request read
// just before the listeners closed is dispatched on a goroutine of its own; if it
// finds the connection pool already emptied, sipgo opens a new socket (with a reader
// goroutine) to send the response (sipgo transport_layer.go, serverRequestConnection),
// which nothing would ever close. sipgo gives no signal when its dispatch goroutines
// are done, but they need only microseconds and every socket they open is registered
// in the pool: watch the pools until they stay empty for a few rounds.
func (s *Server) sweepConnections() {
	tp := s.ua.TransportLayer()
	for quiet, round := 0, 0; quiet < 4 && round < 40; round++ {
		time.Sleep(5 * time.Millisecond)
		found := false
		for _, network := range []string{"udp", "tcp", "tls"} {
			if p := tp.Pool(network); p != nil && p.Size() > 0 {
				found = true
				_ = p.Clear()
			}
		}
		if found {
			quiet = 0
		} else {
			quiet++
		}
	}
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.Close()
	}
}

// ActiveCalls is the number of calls in the dialog table (a leak check for tests).
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *Server) lookup(req *gosip.Request) *Call {
	k, ok := requestDialogKey(req)
	if !ok {
		return nil
	}
	s.mu.Lock()
	c := s.calls[k]
	s.mu.Unlock()
	if c != nil { // every in-dialog request is looked up once: its timeline line (trace.go)
		s.traceRequest(req, false, time.Now())
	}
	return c
}

func requestDialogKey(req *gosip.Request) (dialogKey, bool) {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil {
		return dialogKey{}, false
	}
	lt, _ := to.Params.Get("tag")
	rt, _ := from.Params.Get("tag")
	return dialogKey{callID: cid.Value(), localTag: lt, remoteTag: rt}, lt != ""
}

// respond sends a response built from req and counts it. hdrs are appended.
func (s *Server) respond(tx gosip.ServerTransaction, req *gosip.Request, code int, reason string, body []byte, hdrs ...gosip.Header) error {
	res := gosip.NewResponseFromRequest(req, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	return s.send(tx, req, res)
}

func (s *Server) send(tx gosip.ServerTransaction, req *gosip.Request, res *gosip.Response) error {
	if res.GetHeader("Server") == nil {
		res.AppendHeader(gosip.NewHeader("Server", s.cfg.UserAgent))
	}
	// Timeline line (trace.go): time and call taken before the peer can answer (an
	// ACK to a 2xx) or end the call (a BYE right after it).
	at, traced := time.Now(), s.tracing(req)
	if err := tx.Respond(res); err != nil {
		// Not sent: e.g. a 2xx racing a CANCEL whose 487 completed the transaction.
		return fmt.Errorf("sip: send %d to %s: %w", res.StatusCode, req.Method, err)
	}
	s.metrics.response(string(req.Method), res.StatusCode)
	if traced {
		s.traceResponse(res, req, true, at)
	}
	return nil
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"

func (s *Server) allowHeaders() []gosip.Header {
	return []gosip.Header{
		gosip.NewHeader("Allow", allowed),
		gosip.NewHeader("Accept", "application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag"),
		gosip.NewHeader("Accept-Language", "en"),
	}
}

// onOptions answers keep-alive and capability probes from trunks and proxies (RFC 3261 §11).
func (s *Server) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		_ = s.respond(tx, req, 503, "Service Unavailable", nil, gosip.NewHeader("Retry-After", "5"))
		return
	}
	if err := s.respond(tx, req, 200, "OK", nil, s.allowHeaders()...); err != nil {
		s.log.Debug("OPTIONS response failed", "error", err)
	}
}

// onNotAllowed answers methods SIP defines but hotline does not serve (RFC 3261 §8.2.1: 405 with Allow).
func (s *Server) onNotAllowed(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	_ = s.respond(tx, req, 405, "Method Not Allowed", nil, gosip.NewHeader("Allow", allowed))
}

// onNotImplemented answers methods hotline does not recognise (RFC 3261 §8.2.1: 501).
func (s *Server) onNotImplemented(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	if req.IsAck() {
		return
	}
	_ = s.respond(tx, req, 501, "Not Implemented", nil, gosip.NewHeader("Allow", allowed))
}

// onCancel handles a CANCEL that matched no pending INVITE (the matching ones are
// answered by the transaction layer, see Call.onCanceled): RFC 3261 §9.2 says 481.
func (s *Server) onCancel(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	_ = s.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
}

// onBye ends the call the caller hung up (RFC 3261 §15.1.2).
func (s *Server) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	c := s.lookup(req)
	if c == nil {
		_ = s.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.onBye(req, tx)
}

// onAck confirms a dialog (ACK for a 2xx is its own transaction, RFC 3261 §13.3.1.4).
func (s *Server) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	if c := s.lookup(req); c != nil {
		c.onAck(req)
	}
}

// onInfo takes DTMF carried in SIP INFO (application/dtmf-relay or application/dtmf).
func (s *Server) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	c := s.lookup(req)
	if c == nil {
		_ = s.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.onInfo(req, tx)
}

// levelFilter drops records below min; it keeps sipgo's debug chatter out of our logs.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(n), f.min}
}

func transportOf(req *gosip.Request) string { return strings.ToLower(req.Transport()) }

// tlsListener is a TLS listener; its Addr is the TCP address, and Serve tells it
// from a plain TCP listener by its type.
type tlsListener struct {
	net.Listener
	addr net.Addr
}

func (l *tlsListener) Addr() net.Addr { return tlsAddr{l.addr} }

// tlsAddr reports network "tls" so Addrs tells TLS listeners apart.
type tlsAddr struct{ net.Addr }

func (tlsAddr) Network() string { return "tls" }
