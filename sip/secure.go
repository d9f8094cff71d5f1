package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip/auth"
)

// Guard is what the SIP layer needs from the flood and brute-force guard
// (sip/guard.Guard implements it). Every method keys on the socket source address,
// never on header text, and must not block: it runs on the packet path.
type Guard interface {
	// Banned reports whether src is banned now: its datagrams are dropped and its
	// TCP/TLS connections closed before any parsing.
	Banned(src netip.Addr) bool
	// Request counts one parsed request of method from src and reports whether it
	// may be served; false drops it without an answer (src has just been banned,
	// or is).
	Request(src netip.Addr, method string) bool
	// Scanner is told every initial request's User-Agent; true means it is a
	// known scanner's and src is now banned (the request is dropped).
	Scanner(src netip.Addr, userAgent string) bool
	// AdmitCall reserves room for a new inbound call within the concurrency and
	// calls-per-second limits; release gives it back when the call ends. ok false:
	// the INVITE gets 503 with Retry-After retryAfter.
	AdmitCall() (release func(), retryAfter time.Duration, ok bool)
	// AuthFailed is told each failed digest authentication (auth.Limiter): too
	// many from one source ban it (svcrack-style password guessing).
	auth.Limiter
}

// TLSConfig holds what "tls" listeners serve.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files (the certificate chain, leaf first, and
	// its private key). Server.ReloadCertificate reads them again (on SIGHUP).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// DefaultMaxMessageSize bounds a SIP message: larger datagrams are dropped, larger
// bodies get 413.
const DefaultMaxMessageSize = 64 << 10

// certStore serves the current certificate to TLS handshakes and swaps it on reload.
type certStore struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
}

func (c *certStore) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("sip: load TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

func (c *certStore) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// tlsConfig is the server side TLS configuration: TLS 1.2 at least, the
// certificate read at each handshake from the store so a reload applies to new
// connections at once.
func (c *certStore) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}

// ReloadCertificate reads the TLS certificate and key files again; new TLS
// connections use them, established ones keep theirs. The engine calls it on
// SIGHUP. On error the previous certificate stays in use.
func (s *Server) ReloadCertificate() error {
	if s.tls == nil {
		return errors.New("sip: no tls listener configured")
	}
	if err := s.tls.load(); err != nil {
		return err
	}
	s.log.Info("TLS certificate reloaded", "cert_file", s.tls.certFile)
	return nil
}

// secMetrics are the secure edge's series.
type secMetrics struct {
	rejected  map[string]prometheus.Counter // inbound INVITEs refused, by reason
	malformed map[string]prometheus.Counter // malformed messages, by reason
}

// Reasons of hotline_sip_malformed_total (a fixed set).
const (
	malMissingHeader = "missing_header" // 400: Call-ID, From, To, CSeq, Via or Max-Forwards absent
	malCSeqMismatch  = "cseq_method"    // 400: CSeq method is not the request's
	malContentLength = "content_length" // 400: conflicting or wrong Content-Length
	malTooLarge      = "too_large"      // 413, or a dropped oversize datagram
	malScheme        = "uri_scheme"     // 416: Request-URI scheme not sip, sips or tel
	malVersion       = "version"        // 505: not SIP/2.0
	malExtension     = "extension"      // 420: an unsupported Require
	malHops          = "max_forwards"   // 483
	malHeader        = "bad_header"     // 400: a header we need does not parse
	malNotSIP        = "not_sip"        // a dropped datagram that cannot start a SIP message (stray RTP/RTCP, STUN)
)

var malformedReasons = []string{malMissingHeader, malCSeqMismatch, malContentLength, malTooLarge, malScheme,
	malVersion, malExtension, malHops, malHeader, malNotSIP}

func newSecMetrics(reg prometheus.Registerer) (*secMetrics, error) {
	rej := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_inbound_rejected_total",
		Help: "Initial INVITEs refused by the inbound policy, by reason (" + strings.Join(rejectReasons, ", ") + ").",
	}, []string{"reason"})
	mal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_malformed_total",
		Help: "Malformed SIP requests answered with an error or dropped, by reason (" + strings.Join(malformedReasons, ", ") + ").",
	}, []string{"reason"})
	if reg != nil {
		for _, c := range []prometheus.Collector{rej, mal} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("sip: register metrics: %w", err)
			}
		}
	}
	m := &secMetrics{rejected: map[string]prometheus.Counter{}, malformed: map[string]prometheus.Counter{}}
	for _, r := range rejectReasons {
		m.rejected[r] = rej.WithLabelValues(r)
	}
	for _, r := range malformedReasons {
		m.malformed[r] = mal.WithLabelValues(r)
	}
	return m, nil
}

func (m *secMetrics) reject(reason string) {
	if c, ok := m.rejected[reason]; ok {
		c.Inc()
	}
}

func (m *secMetrics) malform(reason string) {
	if c, ok := m.malformed[reason]; ok {
		c.Inc()
	}
}

// readFilter is sipgo's transport read hook: it runs on every datagram and every
// TCP/TLS read before parsing. Banned sources cost nothing more than this lookup:
// their datagrams are dropped and their stream connections closed (returning an
// error ends sipgo's read loop of that connection). An oversize datagram is
// dropped (no answer can be formed reliably from a truncated read).
func (s *Server) readFilter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	stream := p.Transport != "UDP" && p.Transport != "udp"
	if s.guard != nil {
		if src := addrOf(p.RemoteAddr); src.IsValid() && s.guard.Banned(src) {
			if stream {
				return nil, errBanned
			}
			return nil, nil
		}
	}
	if !stream && len(data) > s.cfg.MaxMessageSize {
		s.sec.malform(malTooLarge)
		return nil, nil
	}
	if !stream && !maybeSIP(data) {
		s.sec.malform(malNotSIP)
		return nil, nil
	}
	return data, nil
}

// maybeSIP reports whether a datagram can be a SIP message or a keep-alive: after
// any CR and LF (RFC 3261 §7.5 has them ignored before a start line), a SIP
// message begins with a method or "SIP/2.0", so with a printable token
// character. RTP and RTCP (first octet 0x80-0xBF), STUN (0x00-0x03) and other
// binary datagrams that land on a SIP port (a peer's media sent to the wrong
// port, a port once used for media and now for SIP) cannot, and are dropped and
// counted instead of going to the parser, which would log each as an error.
func maybeSIP(data []byte) bool {
	for _, b := range data {
		if b == '\r' || b == '\n' {
			continue
		}
		return b > ' ' && b < 0x7f
	}
	return true // only CR and LF: a keep-alive, which sipgo answers or ignores
}

var errBanned = errors.New("source banned")

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// guarded wraps a request handler with the checks every request passes first: the
// guard's per-source rate (excess is dropped silently, like Kamailio's pike module
// in its documented use: an answer would only confirm to a flooder that a SIP
// server is there and cost outbound bandwidth), scanner User-Agents, then the
// message validation of RFC 3261 §8.2 and §16.3 that sipgo leaves to us.
func (s *Server) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		src := auth.SourceAddr(req)
		if s.guard != nil && src.IsValid() {
			if !s.guard.Request(src, string(req.Method)) {
				return
			}
			if to := req.To(); to == nil || !to.Params.Has("tag") { // out of dialog: a scanner's probe
				if ua := req.GetHeader("User-Agent"); ua != nil && s.guard.Scanner(src, ua.Value()) {
					if req.IsInvite() {
						s.sec.reject(rejectScanner)
					}
					return
				}
			}
		}
		if code, reason, hdrs, why := s.validate(req); code != 0 {
			s.sec.malform(why)
			if req.IsInvite() {
				s.sec.reject(rejectMalformed)
			}
			s.metrics.request(string(req.Method))
			s.log.Info("malformed request", "call_id", callID(req), "method", string(req.Method), "status", code,
				"reason", why, "source", req.Source())
			if !req.IsAck() && code > 0 {
				_ = s.respond(tx, req, code, reason, nil, hdrs...)
			}
			return
		}
		h(req, tx)
	}
}

// validate checks what sipgo's parser accepts but a request must not have. It
// returns 0 when req is fine; a negative code means drop without an answer.
func (s *Server) validate(req *gosip.Request) (code int, reason string, hdrs []gosip.Header, why string) {
	bad := func(text string) []gosip.Header { return []gosip.Header{warning(399, s.cfg.Host, text)} }
	if req.SipVersion != "SIP/2.0" {
		return 505, "Version Not Supported", nil, malVersion
	}
	for _, name := range []string{"Call-ID", "From", "To", "CSeq", "Via"} {
		if req.GetHeader(name) == nil {
			return 400, "Missing " + name, bad("Missing " + name + " header"), malMissingHeader
		}
	}
	if req.CallID() == nil || req.From() == nil || req.To() == nil || req.CSeq() == nil || req.Via() == nil {
		return 400, "Bad Header", bad("Unparsable Call-ID, From, To, CSeq or Via"), malHeader
	}
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return 400, "CSeq Method Mismatch", bad("CSeq method does not match the request method"), malCSeqMismatch
	}
	if cls := req.GetHeaders("Content-Length"); len(cls) > 1 {
		return 400, "Conflicting Content-Length", bad("More than one Content-Length"), malContentLength
	} else if len(cls) == 1 {
		n, err := strconv.Atoi(strings.TrimSpace(cls[0].Value()))
		if err != nil || n != len(req.Body()) {
			return 400, "Bad Content-Length", bad("Content-Length does not match the body"), malContentLength
		}
	}
	if len(req.Body()) > s.cfg.MaxMessageSize {
		return 413, "Request Entity Too Large", nil, malTooLarge
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return 416, "Unsupported URI Scheme", nil, malScheme
	}
	if req.IsAck() || req.IsCancel() {
		return 0, "", nil, ""
	}
	mf := req.MaxForwards()
	if req.GetHeader("Max-Forwards") == nil || mf == nil {
		return 400, "Missing Max-Forwards", bad("Missing Max-Forwards header"), malMissingHeader
	}
	if mf.Val() == 0 && req.Method != gosip.OPTIONS {
		return 483, "Too Many Hops", nil, malHops
	}
	if len(req.GetHeaders("Require")) > 0 && !req.IsInvite() && req.Method != gosip.REGISTER {
		// INVITE and REGISTER answer Require themselves (420 with Unsupported).
		var ext []string
		for _, h := range req.GetHeaders("Require") {
			if v := strings.TrimSpace(h.Value()); v != "" {
				ext = append(ext, v)
			}
		}
		if len(ext) > 0 {
			return 420, "Bad Extension", []gosip.Header{gosip.NewHeader("Unsupported", strings.Join(ext, ", "))}, malExtension
		}
	}
	return 0, "", nil, ""
}
