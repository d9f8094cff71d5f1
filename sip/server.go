package sip

import (
	"context"
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
)

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
	// Transport is "udp" or "tcp".
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
}

// Default SIP settings.
const (
	DefaultListenAddr = "127.0.0.1:5060"
	DefaultUserAgent  = "hotline"
	// telephoneEventPT is the dynamic payload type hotline offers for RFC 4733 events.
	telephoneEventPT = 101
)

// Server is hotline's SIP user agent server: it terminates inbound calls, negotiates
// their media and hands each one to a Handler as a Call.
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
	listeners []io.Closer
	addrs     []net.Addr
	draining  bool
	wg        sync.WaitGroup // call goroutines

	closeOnce sync.Once
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
		if l.Transport != "udp" && l.Transport != "tcp" {
			return nil, fmt.Errorf("sip: unsupported transport %q (want udp or tcp)", l.Transport)
		}
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
	if cfg.Host == "" {
		host, _, err := net.SplitHostPort(cfg.Listen[0].Addr)
		if err != nil {
			return nil, fmt.Errorf("sip: listen address %q: %w", cfg.Listen[0].Addr, err)
		}
		cfg.Host = host
	}
	s := &Server{cfg: cfg, media: m, handler: h, log: slog.Default(), calls: make(map[dialogKey]*Call), contact: make(map[string]string)}
	for _, o := range opts {
		o(s)
	}
	met, err := NewMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = met
	// sipgo logs transport chatter at info; keep only its warnings.
	quiet := slog.New(levelFilter{s.log.Handler(), slog.LevelWarn})
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.Host),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet)),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
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
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.onCancel)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnInfo(s.onInfo)
	for _, m := range []gosip.RequestMethod{gosip.REGISTER, gosip.SUBSCRIBE, gosip.NOTIFY, gosip.PUBLISH,
		gosip.MESSAGE, gosip.REFER, gosip.PRACK, gosip.UPDATE} {
		s.srv.OnRequest(m, s.onNotAllowed)
	}
	s.srv.OnNoRoute(s.onNotImplemented)
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
			s.listeners = append(s.listeners, ln)
			s.addrs = append(s.addrs, ln.Addr())
			s.setContact("tcp", ln.Addr())
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
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() {
			var err error
			switch l := l.(type) {
			case net.PacketConn:
				err = s.srv.ServeUDP(l)
			case net.Listener:
				err = s.srv.ServeTCP(l)
			}
			errc <- err
		}()
		s.log.Info("SIP listening", "addr", addrString(l))
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if err != nil {
			err = fmt.Errorf("sip: serve: %w", err)
		}
	}
	s.Close()
	return err
}

func addrString(l io.Closer) string {
	switch l := l.(type) {
	case net.PacketConn:
		return "udp:" + l.LocalAddr().String()
	case net.Listener:
		return "tcp:" + l.Addr().String()
	}
	return "?"
}

// Close hangs up every live call, waits for the call goroutines and closes the
// listeners and the SIP stack. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.draining = true
		calls := make([]*Call, 0, len(s.calls))
		for _, c := range s.calls {
			calls = append(calls, c)
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.hangup(ctx, causeShutdown, 503)
			}()
		}
		wg.Wait()
		cancel()
		s.wg.Wait()
		s.closeListeners()
		s.ua.Close()
	})
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
	defer s.mu.Unlock()
	return s.calls[k]
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
	s.metrics.response(string(req.Method), res.StatusCode)
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("sip: send %d to %s: %w", res.StatusCode, req.Method, err)
	}
	return nil
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"

func (s *Server) allowHeaders() []gosip.Header {
	return []gosip.Header{
		gosip.NewHeader("Allow", allowed),
		gosip.NewHeader("Accept", "application/sdp, application/dtmf-relay, application/dtmf"),
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
