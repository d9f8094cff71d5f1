package media

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// Each test engine gets its own block of ports below the kernel's ephemeral range
// (32768+), where the peers' sockets live, and away from the engine default (10000+)
// that other packages' tests use.
const (
	testPortBase  = 24000
	testPortBlock = 40
)

var portBlocks atomic.Int32

func testPortRange() (int, int) {
	n := int(portBlocks.Add(1)) % ((32000 - testPortBase) / testPortBlock)
	base := testPortBase + n*testPortBlock
	return base, base + testPortBlock - 2
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestEngine starts an engine on 127.0.0.1 with a private port range and registry.
// At cleanup it checks that the test closed every session and port, then closes it.
func newTestEngine(t testing.TB, cfg Config, opts ...Option) (*Engine, *prometheus.Registry) {
	t.Helper()
	cfg.BindIP = netip.MustParseAddr("127.0.0.1")
	if cfg.PortMin == 0 {
		cfg.PortMin, cfg.PortMax = testPortRange()
	}
	reg := prometheus.NewRegistry()
	opts = append([]Option{WithRegistry(reg), WithLogger(quietLog)}, opts...)
	e, err := NewEngine(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := e.Sessions(); n != 0 {
			t.Errorf("leak: %d sessions still open at the end of the test", n)
		}
		if n := e.PortsInUse(); n != 0 {
			t.Errorf("leak: %d ports still in use at the end of the test", n)
		}
		if n := e.RTCPPortsInUse(); n != 0 {
			t.Errorf("leak: %d RTCP ports still in use at the end of the test", n)
		}
		e.Close()
	})
	return e, reg
}

// newSession opens a session that the test's cleanup closes.
func newTestSession(t testing.TB, e *Engine) *Session {
	t.Helper()
	s, err := e.NewSession(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pcmu is sendrecv PCMU at 20 ms towards remote, telephone-event on 101.
func pcmu(remote netip.AddrPort) Params {
	return Params{
		Codec: codec.PCMU, PayloadType: 0, DTMFPayloadType: 101,
		Remote: remote, Send: true, Recv: true,
	}
}

// peer is the caller's side of the RTP stream: a UDP socket the test reads and writes.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
	addr netip.AddrPort
	buf  []byte
	seq  uint16
	ts   uint32
	ssrc uint32
}

func newPeer(t testing.TB, ip string) *peer {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	return &peer{t: t, conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		buf: make([]byte, 2048), seq: 1000, ts: 5000, ssrc: 0xCA11E4}
}

type packet struct {
	h       rtp.Header
	payload []byte
	from    netip.AddrPort
	at      time.Time
}

// recv returns the next RTP packet, or false after timeout. RTCP that lands on the
// peer's port (another session's reports sent to "RTP port + 1") is skipped.
func (p *peer) recv(timeout time.Duration) (packet, bool) {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		p.t.Fatal(err)
	}
	var (
		n    int
		from netip.AddrPort
		err  error
	)
	for {
		n, from, err = p.conn.ReadFromUDPAddrPort(p.buf)
		if err != nil || !rtp.IsRTCP(p.buf[:n]) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return packet{}, false
		}
		p.t.Fatal(err)
	}
	var pk packet
	payload, err := pk.h.Unmarshal(p.buf[:n])
	if err != nil {
		p.t.Fatalf("peer got a datagram that is not RTP: %v", err)
	}
	pk.payload = append([]byte(nil), payload...)
	pk.from, pk.at = from, time.Now()
	return pk, true
}

// must returns the next packet or fails.
func (p *peer) must(timeout time.Duration) packet {
	p.t.Helper()
	pk, ok := p.recv(timeout)
	if !ok {
		p.t.Fatalf("peer %v: no packet within %v", p.addr, timeout)
	}
	return pk
}

// none fails if a packet arrives within d.
func (p *peer) none(d time.Duration) {
	p.t.Helper()
	if pk, ok := p.recv(d); ok {
		p.t.Fatalf("peer %v: unexpected packet seq %d from %v", p.addr, pk.h.SequenceNumber, pk.from)
	}
}

// drain discards whatever is queued.
func (p *peer) drain() {
	for {
		if _, ok := p.recv(5 * time.Millisecond); !ok {
			return
		}
	}
}

func (p *peer) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// sendRTP sends one packet of the peer's stream with the given payload type.
func (p *peer) sendRTP(to netip.AddrPort, pt uint8, marker bool, payload []byte) {
	p.t.Helper()
	p.sendRaw(to, buildRTP(rtp.Header{PayloadType: pt, Marker: marker, SequenceNumber: p.seq,
		Timestamp: p.ts, SSRC: p.ssrc}, payload))
	p.seq++
}

// sendAudio sends one 20 ms PCMU frame of silence.
func (p *peer) sendAudio(to netip.AddrPort) {
	p.t.Helper()
	p.sendRTP(to, 0, false, silentFrame)
	p.ts += 160
}

var silentFrame = func() []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = codec.MulawSilence
	}
	return b
}()

func buildRTP(h rtp.Header, payload []byte) []byte {
	b := make([]byte, rtp.HeaderSize+len(payload))
	if _, err := h.MarshalTo(b); err != nil {
		panic(err) // test helper: a bad header is a bug in the test
	}
	copy(b[rtp.HeaderSize:], payload)
	return b
}

// metric reads one series from reg: name plus label name/value pairs. A series that
// was never touched reads 0.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

// eventually polls cond every few milliseconds until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tone is a sine of freq Hz at amplitude amp, n samples at 8 kHz.
func tone(freq float64, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}

// goertzel is the power of x at freq Hz (8 kHz sampling), normalised by length.
func goertzel(x []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / 8000
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return p / float64(len(x)*len(x))
}

func decodeMulaw(payload []byte) []int16 {
	out := make([]int16, len(payload))
	codec.DecodeMulaw(out, payload)
	return out
}

func isSilence(payload []byte) bool {
	for _, b := range payload {
		if b != codec.MulawSilence {
			return false
		}
	}
	return len(payload) > 0
}

// constSource plays the same sample forever (until the test stops it).
type constSource struct{ v int16 }

func (c constSource) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = c.v
	}
	return len(frame), nil
}

// waitPlaying waits until a Play call has installed its playback.
func waitPlaying(t testing.TB, s *Session, src Source) {
	t.Helper()
	eventually(t, 2*time.Second, "Play to start", func() bool {
		s.sendMu.Lock()
		defer s.sendMu.Unlock()
		return s.player != nil && s.player.src == src
	})
}

// manual is a session on an engine whose clock the test drives: tick(k) sends the
// frames due k*20 ms after the first tick, exactly as the clock goroutine would.
type manual struct {
	s  *Session
	t0 time.Time
}

func (m manual) tick(k int) { m.s.tick(m.t0.Add(time.Duration(k) * 20 * time.Millisecond)) }

// shardTick ticks the session's clock shard instead, as the clock goroutine does: its
// packets take the batched path when the engine batches (txbatch_linux.go).
func (m manual) shardTick(k int) { m.s.shard.tick(m.t0.Add(time.Duration(k) * 20 * time.Millisecond)) }

// rtpHeader is a header of the test caller's stream.
func rtpHeader(pt uint8, seq uint16, ts uint32) rtp.Header {
	return rtp.Header{PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 0xCA11}
}
