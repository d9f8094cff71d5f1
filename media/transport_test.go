package media

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// pipe is a PacketTransport that hands every packet to a peer session's DeliverRTP on
// a goroutine of its own, as pion's track reader would: a copy per packet through a
// buffered channel (the test's cost, not the session's).
type pipe struct {
	ch     chan []byte
	done   chan struct{}
	sent   atomic.Uint64
	rtcp   atomic.Uint64
	failAt atomic.Bool
}

func newPipe(t *testing.T, to func() *Session) *pipe {
	p := &pipe{ch: make(chan []byte, 256), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case b := <-p.ch:
				if s := to(); s != nil {
					s.DeliverRTP(b, time.Now())
				}
			case <-p.done:
				return
			}
		}
	})
	t.Cleanup(func() { close(p.done); wg.Wait() })
	return p
}

func (p *pipe) WriteRTP(pkt []byte) error {
	if p.failAt.Load() {
		return errors.New("carrier down")
	}
	p.sent.Add(1)
	select {
	case p.ch <- append([]byte(nil), pkt...):
	default:
	}
	return nil
}

// rtcpPipe also takes the session's RTCP reports.
type rtcpPipe struct{ *pipe }

func (p rtcpPipe) WriteRTCP(pkt []byte) error {
	if !rtp.IsRTCP(pkt) {
		return errors.New("not RTCP")
	}
	p.rtcp.Add(1)
	return nil
}

// toneSink keeps the power of a frequency in what the caller's side received.
type toneSink struct {
	mu     sync.Mutex
	pcm    []int16
	frames int
}

func (k *toneSink) WriteAudio(pcm []int16) {
	k.mu.Lock()
	k.frames++
	if len(k.pcm) < 48000*2 {
		k.pcm = append(k.pcm, pcm...)
	}
	k.mu.Unlock()
}

func (k *toneSink) snapshot() []int16 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]int16(nil), k.pcm...)
}

// TestTransportSessions: two transport sessions wired back to back (Opus both ways,
// telephone-event/48000 on 101, as a browser negotiates) run the whole pipeline
// without a socket: a tone played on one is decoded by the other's playout into its
// sink, and RFC 4733 digits sent by one arrive as digits at the other. No port is
// taken, Params.Remote is ignored, and Close releases everything.
func TestTransportSessions(t *testing.T) {
	e, reg := newTestEngine(t, Config{})
	var a, b atomic.Pointer[Session]
	toB := newPipe(t, b.Load)
	toA := newPipe(t, a.Load)
	sa, err := e.NewTransportSession(toB, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := e.NewTransportSession(toA, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Store(sa)
	b.Store(sb)
	if !sa.IsTransport() || sa.LocalAddr().IsValid() {
		t.Errorf("transport session: IsTransport %v, LocalAddr %v", sa.IsTransport(), sa.LocalAddr())
	}
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("transport sessions took %d ports", n)
	}
	p := Params{Codec: codec.Opus, PayloadType: 111, DTMFPayloadType: 101, Send: true, Recv: true}
	for _, s := range []*Session{sa, sb} {
		if err := s.Configure(p); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	sink := &toneSink{}
	remove := sb.AddSink(sink)
	defer remove()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sa.Play(ctx, NewClip(toneAt(1000, 8000, 48000, 48000*6/10))); err != nil {
		t.Fatalf("Play: %v", err)
	}
	eventually(t, 2*time.Second, "the tone to reach the other side", func() bool {
		pcm := sink.snapshot()
		return len(pcm) > 48000/2 && goertzel(pcm[len(pcm)-9600:], 1000/48000.0*8000) > 0
	})
	pcm := sink.snapshot()
	if tone, other := goertzel48(pcm, 1000), goertzel48(pcm, 1700); tone < 100*other {
		t.Errorf("1 kHz power %.3g, 1.7 kHz %.3g: the tone did not come through", tone, other)
	}

	if err := sb.SendDigits(ctx, "19#", DTMFRFC4733); err != nil {
		t.Fatalf("SendDigits: %v", err)
	}
	var got []byte
	for len(got) < 3 {
		select {
		case d := <-sa.Digits():
			got = append(got, d)
		case <-ctx.Done():
			t.Fatalf("digits %q, want 19#", got)
		}
	}
	if string(got) != "19#" {
		t.Errorf("digits %q, want 19#", got)
	}
	if toB.rtcp.Load() != 0 {
		t.Error("a transport without RTCPWriter got reports")
	}
	if v := metric(t, reg, "hotline_rtp_latches_total"); v != 0 {
		t.Errorf("transport sessions latched %v times", v)
	}
	sa.Close()
	sb.Close()
	sa.Close() // idempotent
	before := sa.Stats().PacketsReceived
	sa.DeliverRTP(buildRTP(rtpHeader(111, 1, 1), []byte{0xf8}), time.Now())
	if sa.Stats().PacketsReceived != before {
		t.Error("a closed session accepted a packet")
	}
	if err := sa.Play(ctx, NewClip(make([]int16, 960))); !errors.Is(err, ErrClosed) {
		t.Errorf("Play after Close: %v", err)
	}
}

// goertzel48 is the power of freq in pcm at 48 kHz.
func goertzel48(pcm []int16, freq float64) float64 {
	return goertzel(pcm, freq/48000*8000) // goertzel takes the frequency at 8 kHz
}

// TestTransportRTCPAndErrors: a carrier that implements RTCPWriter gets the session's
// reports; a carrier that fails counts send errors and the stream goes on; the RTP
// timeout fires from the clock's housekeeping, since no receive loop runs.
func TestTransportRTCPAndErrors(t *testing.T) {
	e, reg := newTestEngine(t, Config{Timeout: 200 * time.Millisecond}, withManualClock())
	tp := rtcpPipe{newPipe(t, func() *Session { return nil })}
	s, err := e.NewTransportSession(tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Configure(Params{Codec: codec.PCMU, DTMFPayloadType: -1, Send: true, Recv: true}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	m := manual{s: s, t0: time.Now()}
	for k := range 500 { // 10 s: at least one report is due (RFC 3550 §6.2)
		m.tick(k)
	}
	if tp.sent.Load() < 490 {
		t.Errorf("%d packets sent in 500 ticks", tp.sent.Load())
	}
	if tp.rtcp.Load() == 0 {
		t.Error("no RTCP report went to the RTCPWriter")
	}
	select {
	case <-s.TimedOut():
	default:
		t.Error("no RTP timeout from a silent transport peer")
	}
	tp.failAt.Store(true)
	m.tick(500)
	if v := metric(t, reg, "hotline_rtp_send_errors_total"); v == 0 {
		t.Error("a failing carrier counted no send error")
	}
	if _, err := e.NewTransportSession(nil, nil); !errors.Is(err, ErrNilTransport) {
		t.Errorf("nil transport: %v", err)
	}
}

// nullTransport accepts and forgets: the carrier's own cost left out of the benchmark.
type nullTransport struct{ n int }

func (t *nullTransport) WriteRTP(pkt []byte) error { t.n += len(pkt); return nil }

// transportRig is one Opus transport session with a playback, fed by DeliverRTP and
// ticked by hand.
func transportRig(tb testing.TB) (s *Session, step func()) {
	e, _ := newTestEngine(tb, Config{}, withManualClock())
	s, err := e.NewTransportSession(&nullTransport{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Configure(Params{Codec: codec.Opus, PayloadType: 111, DTMFPayloadType: 101, Send: true, Recv: true}); err != nil {
		tb.Fatal(err)
	}
	s.AddSink(&countSink{})
	s.Start()
	done := make(chan error, 1)
	src := &loopTone{pcm: toneAt(440, 6000, 48000, 48000)}
	go func() { done <- s.Play(context.Background(), src) }()
	waitPlaying(tb, s, src)
	tb.Cleanup(func() { s.Close(); <-done })
	payloads := encodedTone(tb, codec.Opus, 50)
	pkt := make([]byte, 1500)
	now := time.Now()
	var seq uint16
	var ts uint32
	i := 0
	step = func() {
		now = now.Add(20 * time.Millisecond)
		seq++
		ts += 960
		h := rtp.Header{PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 0xB0}
		_, _ = h.MarshalTo(pkt)
		n := copy(pkt[rtp.HeaderSize:], payloads[i%len(payloads)])
		i++
		s.DeliverRTP(pkt[:rtp.HeaderSize+n], now)
		s.tick(now)
	}
	for range 200 {
		step()
	}
	return s, step
}

// TestTransportPathDoesNotAllocate keeps BenchmarkTransportCallTick's promise in every
// test run: DeliverRTP plus a tick (encode, send through the carrier, decode, sink,
// housekeeping) allocate nothing in steady state.
func TestTransportPathDoesNotAllocate(t *testing.T) {
	_, step := transportRig(t)
	if n := testing.AllocsPerRun(300, step); n != 0 {
		t.Errorf("transport call tick: %v allocations per frame", n)
	}
}

// BenchmarkTransportCallTick is 20 ms of an Opus call over a transport: one packet
// delivered, one tick.
func BenchmarkTransportCallTick(b *testing.B) {
	_, step := transportRig(b)
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}
