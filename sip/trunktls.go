package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// TLS toward trunks. sipgo dials TLS with one client configuration for the whole
// user agent, and its connection pool keys connections by remote address only, so
// it cannot verify each carrier against its own CA file. hotline therefore opens
// the TLS connection of a trunk itself, before the first request that needs it:
// with the trunk's configuration (its CA pool or the system's, SNI and verified
// name the host dialled, TLS 1.2 at least), and hands the established connection
// to sipgo through an in-memory listener (dialListener) that sipgo serves like an
// accepting socket. sipgo then finds the connection in its pool by the remote
// address and sends the request, and every later one to that address, over it; its
// reader delivers the responses. The connection is verified once, when it is made.
// Anything sipgo dials on its own (the Contact of a caller that came over TLS) uses
// the user agent's configuration: the system's pool, TLS 1.2 at least.

// trunkTLSConfig is the client TLS configuration of a trunk with transport tls;
// ServerName is set per connection.
func trunkTLSConfig(cfg TrunkConfig) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSInsecureSkipVerify} //nolint:gosec // per trunk, explicit and logged
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate in it", cfg.TLSCAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// clientTLSConfig is the user agent's own TLS client configuration, for
// connections sipgo opens itself.
func clientTLSConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// tlsDialTimeout bounds the TCP connect and TLS handshake toward a trunk.
const tlsDialTimeout = 10 * time.Second

// dialListener hands the TLS connections hotline dialled to sipgo's TLS transport,
// which serves it like a listener: each accepted connection enters sipgo's pool
// under its remote address and gets sipgo's reader.
type dialListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newDialListener(addr net.Addr) *dialListener {
	return &dialListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next connection handed over, or net.ErrClosed once closed.
func (l *dialListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *dialListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the TLS listener's address: sipgo records its port as a TLS listening
// port, which it already is.
func (l *dialListener) Addr() net.Addr { return l.addr }

// handOver gives conn to sipgo; false when the listener is closed (conn is closed).
func (l *dialListener) handOver(ctx context.Context, conn net.Conn) bool {
	select {
	case l.conns <- conn:
		return true
	case <-l.done:
	case <-ctx.Done():
	}
	_ = conn.Close()
	return false
}

// tlsDialer serialises the dials toward each remote address, so concurrent calls
// through a trunk share one connection.
type tlsDialer struct {
	mu    sync.Mutex
	addrs map[string]*sync.Mutex
}

func (d *tlsDialer) lock(addr string) func() {
	d.mu.Lock()
	if d.addrs == nil {
		d.addrs = make(map[string]*sync.Mutex)
	}
	m := d.addrs[addr]
	if m == nil {
		m = &sync.Mutex{}
		d.addrs[addr] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// secureHop makes sure a TLS request toward trunk t (nil: the trunk whose host or
// outbound proxy the request goes to, if any) leaves over a connection verified
// with the trunk's TLS configuration: it resolves the destination (IPv4 first, as
// sipgo does), points the request at the address, and dials and hands over a
// connection unless sipgo's pool has one to that address already. Requests that
// are not TLS, or toward no trunk, are left to sipgo.
func (s *Server) secureHop(ctx context.Context, req *gosip.Request, t *trunk) error {
	if !strings.EqualFold(req.Transport(), "TLS") || s.dialLn == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(req.Destination())
	if err != nil {
		return fmt.Errorf("TLS destination %q: %w", req.Destination(), err)
	}
	host = strings.Trim(host, "[]")
	if t == nil {
		t = s.trunkAt(host)
	}
	if t == nil || t.tls == nil {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ip, err = resolveHost(ctx, host)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", host, err)
		}
	}
	addr := net.JoinHostPort(ip.String(), port)
	req.SetDestination(addr)
	unlock := s.tlsDial.lock(addr)
	defer unlock()
	tp := s.ua.TransportLayer()
	if c, err := tp.GetConnection("tls", addr); err == nil && c != nil {
		_, _ = c.TryClose() // GetConnection took a reference
		return nil
	}
	cfg := t.tls.Clone()
	cfg.ServerName = host
	dctx, cancel := context.WithTimeout(ctx, tlsDialTimeout)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		s.metrics.tlsDialFailed(t.cfg.Name)
		return fmt.Errorf("TLS to trunk %s at %s (%s): %w", t.cfg.Name, addr, host, err)
	}
	if t.cfg.TLSInsecureSkipVerify {
		s.log.Warn("TLS to trunk without certificate verification (tls_insecure_skip_verify)", "trunk", t.cfg.Name,
			"addr", addr)
	}
	if !s.dialLn.handOver(dctx, conn) {
		return errors.New("TLS connection not handed over: server closing")
	}
	// sipgo adds the connection to its pool right after accepting it.
	for i := 0; i < 2000; i++ {
		if c, err := tp.GetConnection("tls", addr); err == nil && c != nil {
			_, _ = c.TryClose()
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("TLS connection to %s did not reach the transport", addr)
}

// trunkAt is the TLS trunk whose host or outbound proxy is host.
func (s *Server) trunkAt(host string) *trunk {
	for _, t := range s.trunks {
		if t.tls == nil {
			continue
		}
		if strings.EqualFold(strings.Trim(t.cfg.Host, "[]"), host) {
			return t
		}
		if t.proxy != "" {
			if h, _, err := net.SplitHostPort(t.proxy); err == nil && strings.EqualFold(h, host) {
				return t
			}
		}
	}
	return nil
}

// resolveHost looks host up, preferring IPv4 like sipgo's resolver.
func resolveHost(ctx context.Context, host string) (netip.Addr, error) {
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, errors.New("no address")
	}
	return ips[0], nil
}
