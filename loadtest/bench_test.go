package loadtest

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// The generator's per-packet paths: building an outgoing frame, sending a tick's
// batch, and handing a received packet to its stream. They run 50 times a second per
// call, so they must not allocate (STYLE.md habit 3) and must stay far cheaper than
// the engine's own packet path, or the generator would limit the figures it reports.

// rig is a stream on a pool socket whose peer is a plain socket.
type rig struct {
	pool *mediaPool
	sock *rtpSocket
	st   *stream
	peer *net.UDPConn
	pkt  []byte // one received RTP packet from the peer, header and 160 octets
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	pool, err := bindMediaPool(netip.MustParseAddr("127.0.0.1"), 1, 5*time.Millisecond, 20*time.Millisecond, time.Now(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.close)
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = peer.SetReadBuffer(socketBuffer)
	tb.Cleanup(func() { peer.Close() })
	r := &rig{pool: pool, sock: pool.socks[0], peer: peer}
	r.st = newStream(testParams(peer.LocalAddr().(*net.UDPAddr).AddrPort(), toneClip(tb, 50)), meanSquareThreshold(DefaultSpeechDBFS), time.Second, 20*time.Millisecond)
	// The pool's goroutines are not running: the benchmarks drive the paths.
	r.st.start(r.sock, time.Now())
	tb.Cleanup(r.st.stop)
	r.pkt = make([]byte, rtp.HeaderSize+160)
	h := rtp.Header{PayloadType: 0, SSRC: 42}
	_, _ = h.MarshalTo(r.pkt)
	copy(r.pkt[rtp.HeaderSize:], r.st.idle.frames[3])
	return r
}

// receiveOne delivers the peer's packet with the next sequence number, as the receive
// goroutine does.
func (r *rig) receiveOne(seq uint16, at int64) {
	r.pkt[2], r.pkt[3] = byte(seq>>8), byte(seq)
	ts := uint32(seq) * 160
	r.pkt[4], r.pkt[5], r.pkt[6], r.pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	r.sock.aggMu.Lock()
	r.sock.deliver(r.pkt, r.st.remote, at)
	r.sock.aggMu.Unlock()
}

// frameOne builds one outgoing frame into the socket's batch, emptying it when full.
func (r *rig) frameOne(due int64) {
	if r.sock.tx.full() {
		r.sock.tx.n = 0
	}
	r.st.frame(&r.sock.tx, due)
}

func BenchmarkReceivePacket(b *testing.B) {
	r := newRig(b)
	at := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.receiveOne(uint16(i), at+int64(i)*frame20)
	}
}

func BenchmarkFramePacket(b *testing.B) {
	r := newRig(b)
	due := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%500 == 0 {
			r.st.send(&command{digits: "5", clip: r.st.idle}) // key presses and speech too
		}
		r.frameOne(due + int64(i)*frame20)
	}
}

// BenchmarkSendBatch measures a full batch through the system call, per packet.
func BenchmarkSendBatch(b *testing.B) {
	r := newRig(b)
	drain(r.peer)
	due := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.st.frame(&r.sock.tx, due+int64(i)*frame20)
		if r.sock.tx.full() {
			r.sock.flush()
		}
	}
	r.sock.flush()
}

// drain discards what the peer receives, so its buffer never fills.
func drain(c *net.UDPConn) {
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
}

func TestPacketPathsDoNotAllocate(t *testing.T) {
	r := newRig(t)
	at := time.Now().UnixNano()
	seq := uint16(0)
	if n := testing.AllocsPerRun(500, func() { seq++; r.receiveOne(seq, at+int64(seq)*frame20) }); n != 0 {
		t.Errorf("receive: %v allocations per packet", n)
	}
	i := int64(0)
	if n := testing.AllocsPerRun(500, func() { i++; r.frameOne(at + i*frame20) }); n != 0 {
		t.Errorf("frame: %v allocations per packet", n)
	}
	drain(r.peer)
	r.sock.tx.n = 0
	if n := testing.AllocsPerRun(20, func() {
		for range 64 {
			i++
			r.st.frame(&r.sock.tx, at+i*frame20)
		}
		r.sock.flush()
	}); n != 0 {
		t.Errorf("send batch of 64: %v allocations", n)
	}
}
