package sip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Slow-loris defence on the TCP and TLS listeners. sipgo reads each stream
// connection on a goroutine of its own for as long as the peer keeps it open and
// puts no bound on how long a message may take to arrive, nor on how many
// connections a source may hold. A flooder that opens thousands of connections,
// or trickles a message one byte at a time, would hold a goroutine, a buffer and a
// file descriptor each for ever. The listener hotline hands to sipgo therefore:
//   - refuses a connection beyond ConnLimits.MaxPerSource from one source address
//     (the socket's, never header text) or beyond MaxTotal in all (closed at once);
//   - frames the stream itself (header section up to the blank line, then
//     Content-Length octets of body) and closes a connection whose first message,
//     or any message once its first octet arrived, is not complete within
//     HeaderTimeout (a trickle does not extend it), or that carries nothing either
//     way between messages for longer than IdleTimeout (CRLF keep-alives, RFC 5626
//     §3.5.1, count as activity), or whose header section outgrows the message
//     size limit.
// Each refusal and close is counted in hotline_sip_connections_dropped_total by
// reason; hotline_sip_connections_open is the number open now.

// ConnLimits bounds inbound TCP and TLS connections (the engine configuration's
// `sip.connections`). The zero value takes the defaults.
type ConnLimits struct {
	// MaxPerSource caps the connections one source address holds open; default 64
	// (an SBC or PBX may open several; a phone opens one).
	MaxPerSource int `yaml:"max_per_source"`
	// MaxTotal caps the open inbound connections; default 4096.
	MaxTotal int `yaml:"max_total"`
	// HeaderTimeout bounds the arrival of a message from its first octet (and of
	// a new connection's first message, TLS handshake included, from the accept);
	// default 10 s.
	HeaderTimeout time.Duration `yaml:"header_timeout"`
	// IdleTimeout closes a connection that carried nothing either way for this
	// long between messages; default 10 min (well above the 2 min keep-alive
	// interval RFC 5626 §4.4.1 recommends for TCP, so registered phones keep their
	// connection). A peer on a long call that sends nothing over its connection
	// needs keep-alives (RFC 5626) or session timers (RFC 4028) to keep it.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Connection limit defaults.
const (
	DefaultMaxConnsPerSource = 64
	DefaultMaxConns          = 4096
	DefaultHeaderTimeout     = 10 * time.Second
	DefaultIdleTimeout       = 10 * time.Minute
)

// Reasons of hotline_sip_connections_dropped_total (a fixed set).
const (
	connPerSource = "per_source_limit"
	connTotal     = "total_limit"
	connHeader    = "header_timeout"
	connIdle      = "idle_timeout"
	connOversize  = "oversize"
)

func (l ConnLimits) withDefaults() ConnLimits {
	if l.MaxPerSource <= 0 {
		l.MaxPerSource = DefaultMaxConnsPerSource
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxConns
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = DefaultHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// connLimiter counts the open connections of every limited listener of a server.
type connLimiter struct {
	cfg     ConnLimits
	maxMsg  int
	dropped map[string]prometheus.Counter
	open    prometheus.Gauge

	mu     sync.Mutex
	total  int
	bySrc  map[netip.Addr]int
	closed bool
}

func newConnLimiter(cfg ConnLimits, maxMsg int, reg prometheus.Registerer) (*connLimiter, error) {
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_connections_dropped_total",
		Help: "Inbound TCP/TLS connections refused or closed by the connection limits, by reason (per_source_limit, total_limit, header_timeout, idle_timeout, oversize).",
	}, []string{"reason"})
	open := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hotline_sip_connections_open", Help: "Inbound TCP/TLS connections open now.",
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{dropped, open} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("sip: register metrics: %w", err)
			}
		}
	}
	l := &connLimiter{cfg: cfg.withDefaults(), maxMsg: maxMsg, dropped: map[string]prometheus.Counter{}, open: open,
		bySrc: map[netip.Addr]int{}}
	for _, r := range []string{connPerSource, connTotal, connHeader, connIdle, connOversize} {
		l.dropped[r] = dropped.WithLabelValues(r)
	}
	return l, nil
}

// admit takes a slot for a connection from src; the reason when refused.
func (l *connLimiter) admit(src netip.Addr) (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= l.cfg.MaxTotal:
		return false, connTotal
	case l.bySrc[src] >= l.cfg.MaxPerSource:
		return false, connPerSource
	}
	l.total++
	l.bySrc[src]++
	l.open.Inc()
	return true, ""
}

func (l *connLimiter) release(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySrc[src]--; l.bySrc[src] <= 0 {
		delete(l.bySrc, src)
	}
	l.open.Dec()
}

// limitConns wraps a stream listener with the server's connection limits.
func (s *Server) limitConns(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, l: s.connLimit}
}

// limitListener applies a connLimiter to the connections it accepts. A refused
// connection is closed and Accept goes on: an error would end sipgo's accept loop.
type limitListener struct {
	net.Listener
	l *connLimiter
}

// Accept returns the next connection within the limits.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := addrOf(c.RemoteAddr())
		if ok, why := ln.l.admit(src); !ok {
			ln.l.dropped[why].Inc()
			_ = c.Close()
			continue
		}
		now := time.Now()
		return &limitConn{Conn: c, l: ln.l, src: src, start: now, fresh: true, lastRead: now.UnixNano()}, nil
	}
}

// limitConn frames the stream it reads to enforce the timeouts. Reads come from
// one goroutine (sipgo's reader); Close may come from any.
type limitConn struct {
	net.Conn
	l     *connLimiter
	src   netip.Addr
	once  sync.Once
	fr    framer
	start time.Time // when the message in progress (or the connection) began
	fresh bool      // no complete message yet
	// lastRead (reader goroutine only) and lastWrite (any) are Unix nanoseconds of
	// the last octets received and sent: the idle timeout runs from the later.
	lastRead  int64
	lastWrite atomic.Int64
}

// Read reads with the deadline the framing state calls for. A timeout or an
// oversize header section closes the connection and reads as io.EOF (sipgo then
// drops it quietly).
func (c *limitConn) Read(b []byte) (int, error) {
	cfg := c.l.cfg
	for {
		var deadline time.Time
		reason := connIdle
		if c.fresh || c.fr.busy() {
			deadline, reason = c.start.Add(cfg.HeaderTimeout), connHeader
		} else {
			deadline = c.lastActive().Add(cfg.IdleTimeout)
		}
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		n, err := c.Conn.Read(b)
		if n == 0 && err != nil && reason == connIdle && isTimeout(err) && time.Until(c.lastActive().Add(cfg.IdleTimeout)) > 0 {
			continue // we wrote meanwhile (a BYE, an OPTIONS ping): not idle
		}
		return c.afterRead(b, n, err, reason)
	}
}

// lastActive is when the connection last carried a message octet either way.
func (c *limitConn) lastActive() time.Time {
	return time.Unix(0, max(c.lastRead, c.lastWrite.Load()))
}

// Write records the activity: a connection we send on is in use.
func (c *limitConn) Write(b []byte) (int, error) {
	c.lastWrite.Store(time.Now().UnixNano())
	return c.Conn.Write(b)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *limitConn) afterRead(b []byte, n int, err error, reason string) (int, error) {
	if n > 0 {
		c.lastRead = time.Now().UnixNano()
		wasBusy := c.fr.busy()
		done, ferr := c.fr.feed(b[:n], c.l.maxMsg)
		if ferr != nil {
			c.drop(connOversize)
			return 0, io.EOF
		}
		if done > 0 {
			c.fresh = false
		}
		if c.fr.busy() && (!wasBusy || done > 0) {
			c.start = time.Now() // a new message began in this read
		}
	}
	if err != nil && isTimeout(err) {
		c.drop(reason)
		return n, io.EOF
	}
	return n, err
}

// drop counts why the connection is closed, and closes it.
func (c *limitConn) drop(reason string) {
	c.l.dropped[reason].Inc()
	_ = c.Close()
}

// Close closes the connection and gives its slot back, once.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}

// framer follows SIP message boundaries on a stream (RFC 3261 §18.3): a header
// section ended by an empty line, then Content-Length octets of body. CRLFs
// between messages are keep-alives (RFC 5626 §3.5.1).
type framer struct {
	hdr    []byte // the header section so far
	inHdr  bool
	body   int // body octets still to come
	tailCR bool
}

// busy reports whether a message is in progress.
func (f *framer) busy() bool { return f.inHdr || f.body > 0 }

// feed consumes p; done is the number of messages completed in it. An error means
// a header section longer than max.
func (f *framer) feed(p []byte, limit int) (done int, err error) {
	for len(p) > 0 {
		switch {
		case f.body > 0:
			k := min(f.body, len(p))
			f.body -= k
			p = p[k:]
			if f.body == 0 {
				done++
			}
		case !f.inHdr:
			i := 0
			for i < len(p) && (p[i] == '\r' || p[i] == '\n') {
				i++
			}
			p = p[i:]
			if len(p) > 0 {
				f.inHdr = true
				f.hdr = f.hdr[:0]
			}
		default:
			old := len(f.hdr)
			f.hdr = append(f.hdr, p...)
			idx := bytes.Index(f.hdr[max(0, old-3):], []byte("\r\n\r\n"))
			if idx < 0 {
				if len(f.hdr) > limit {
					return done, errors.New("header section too large")
				}
				p = nil
				continue
			}
			end := max(0, old-3) + idx + 4
			p = p[end-old:]
			f.inHdr = false
			f.body = contentLength(f.hdr[:end])
			f.hdr = f.hdr[:0]
			if cap(f.hdr) > 8<<10 {
				f.hdr = nil // do not keep a large buffer for an idle connection
			}
			if f.body == 0 {
				done++
			}
		}
	}
	return done, nil
}

// contentLength is the Content-Length (or l) header's value in a header section;
// 0 when absent or unreadable (the message parser judges it).
func contentLength(hdr []byte) int {
	for line := range bytes.SplitSeq(hdr, []byte("\r\n")) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return 0
}
