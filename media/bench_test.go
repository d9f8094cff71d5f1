package media

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// loopTone plays a tone forever without allocating.
type loopTone struct {
	pcm []int16
	off int
}

func (l *loopTone) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = l.pcm[l.off]
		l.off = (l.off + 1) % len(l.pcm)
	}
	return len(frame), nil
}

// sendRig is a started session on a hand-driven clock, sending to a peer that does not
// read (the kernel drops what overflows, as for a caller that went away).
func sendRig(tb testing.TB, play bool) (tick func(), cleanup func()) {
	e, _ := newTestEngine(tb, Config{}, withManualClock())
	s, err := e.NewSession(nil)
	if err != nil {
		tb.Fatal(err)
	}
	pr := newPeer(tb, "127.0.0.1")
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		tb.Fatal(err)
	}
	s.Start()
	done := make(chan error, 1)
	if play {
		src := &loopTone{pcm: tone(1000, 8000, 8000)}
		go func() { done <- s.Play(context.Background(), src) }()
		waitPlaying(tb, s, src)
	}
	now := time.Now()
	tick = func() {
		now = now.Add(20 * time.Millisecond)
		s.tick(now)
	}
	tick() // the encoder is made on the first frame
	return tick, func() {
		_ = s.Close()
		if play {
			<-done
		}
	}
}

// BenchmarkSendPath is one packet of the outgoing stream: read the source, encode μ-law,
// write the RTP header, WriteToUDPAddrPort, count. It must not allocate.
func BenchmarkSendPath(b *testing.B) {
	for _, c := range []struct {
		name string
		play bool
	}{{"silence", false}, {"playing", true}} {
		b.Run(c.name, func(b *testing.B) {
			tick, cleanup := sendRig(b, c.play)
			defer cleanup()
			b.ReportAllocs()
			for b.Loop() {
				tick()
			}
		})
	}
}

// recvRig is a configured session and a way to feed handlePacket directly, as the
// receive goroutine does.
func recvRig(tb testing.TB) (*Session, netip.AddrPort, *dtmf.Receiver) {
	e, _ := newTestEngine(tb, Config{}, withManualClock())
	s, err := e.NewSession(nil)
	if err != nil {
		tb.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	if err := s.Configure(pcmu(from)); err != nil {
		tb.Fatal(err)
	}
	return s, from, dtmf.NewReceiver()
}

// BenchmarkReceivePath is one received packet: parse the header, check the source
// against the latch policy, then count audio or turn telephone-events into digits.
func BenchmarkReceivePath(b *testing.B) {
	b.Run("audio", func(b *testing.B) {
		s, from, rx := recvRig(b)
		defer s.Close()
		pkt := buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 1, SSRC: 7}, silentFrame)
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			s.handlePacket(pkt, from, now, rx)
		}
		if s.Stats().PacketsReceived == 0 {
			b.Fatal("nothing accepted")
		}
	})
	b.Run("dtmf", func(b *testing.B) {
		s, from, rx := recvRig(b)
		defer s.Close()
		pkts := dtmfPackets(b)
		now := time.Now()
		var ts uint32
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			pk := pkts[i]
			// Each key press a new event (new timestamp), digits pile up in the
			// flow's buffer and then count as dropped: both without allocating.
			pk[4], pk[5], pk[6], pk[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			s.handlePacket(pk, from, now, rx)
			if i++; i == len(pkts) {
				i = 0
				ts += 1600
			}
		}
	})
	b.Run("foreign", func(b *testing.B) {
		s, _, rx := recvRig(b)
		defer s.Close()
		pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
		stranger := netip.MustParseAddrPort("127.0.0.2:40000")
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			s.handlePacket(pkt, stranger, now, rx)
		}
	})
}

// dtmfPackets is one 100 ms key press as dtmf.Sender makes it: 4 updates, 3 ends.
func dtmfPackets(tb testing.TB) [][]byte {
	var snd dtmf.Sender
	if err := snd.Start('5', 100*time.Millisecond, 8000, 20); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	buf := make([]byte, dtmf.EventSize)
	for seq := uint16(0); ; seq++ {
		n, marker, done := snd.Next(buf)
		out = append(out, buildRTP(rtp.Header{PayloadType: 101, Marker: marker, SequenceNumber: seq, SSRC: 9}, buf[:n]))
		if done {
			return out
		}
	}
}

// BenchmarkReceiveLoop sends real datagrams over loopback to a session and waits until
// its receive goroutine accepted them all: the whole receive path, socket included.
func BenchmarkReceiveLoop(b *testing.B) {
	e, _ := newTestEngine(b, Config{}, withManualClock())
	pr := newPeer(b, "127.0.0.1")
	s, err := e.NewSession(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		b.Fatal(err)
	}
	pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
	to := s.LocalAddr()
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		if _, err := pr.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		n++
		// Stay within the socket buffer: wait for the loop every 64 packets.
		if n%64 == 0 {
			for s.Stats().PacketsReceived+s.Stats().Garbage < n {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
}

// TestPacketPathsDoNotAllocate keeps the benchmarks' promise in the ordinary test run.
func TestPacketPathsDoNotAllocate(t *testing.T) {
	for _, play := range []bool{false, true} {
		tick, cleanup := sendRig(t, play)
		if n := testing.AllocsPerRun(200, tick); n != 0 {
			t.Errorf("send path (playing %v): %v allocations per packet", play, n)
		}
		cleanup()
	}
	s, from, rx := recvRig(t)
	defer s.Close()
	audio := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
	now := time.Now()
	if n := testing.AllocsPerRun(200, func() { s.handlePacket(audio, from, now, rx) }); n != 0 {
		t.Errorf("receive path, audio: %v allocations per packet", n)
	}
	pkts := dtmfPackets(t)
	i := 0
	var ts uint32
	if n := testing.AllocsPerRun(500, func() {
		pk := pkts[i]
		pk[4], pk[5], pk[6], pk[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		s.handlePacket(pk, from, now, rx)
		if i++; i == len(pkts) {
			i, ts = 0, ts+1600
		}
	}); n != 0 {
		t.Errorf("receive path, dtmf: %v allocations per packet", n)
	}
}

// BenchmarkDigit delivers one digit to the flow (SIP INFO route, shared with RFC 4733):
// no allocation even though a debug log line is written when debug is on.
func BenchmarkDigit(b *testing.B) {
	s, _, _ := recvRig(b)
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.InjectDigit('5')
		<-s.Digits()
	}
}
