package media

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// startManual opens a started session on a clock the test drives, sending to a fresh peer.
func startManual(t *testing.T, cfg Config, edit func(*Params)) (manual, *peer) {
	t.Helper()
	e, _ := newTestEngine(t, cfg, withManualClock())
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	p := pcmu(pr.addr)
	if edit != nil {
		edit(&p)
	}
	if err := s.Configure(p); err != nil {
		t.Fatal(err)
	}
	s.Start()
	return manual{s: s, t0: time.Now()}, pr
}

// TestOutgoingStream runs the real clock for a second and checks what the caller gets:
// 50 packets a second of PCMU with consecutive sequence numbers and timestamps, one
// SSRC, a marker on the first packet only, silence while nothing plays, then a tone
// from Play, then silence again.
func TestOutgoingStream(t *testing.T) {
	e, reg := newTestEngine(t, Config{})
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	s.Start()

	var (
		mu   sync.Mutex
		pkts []packet
	)
	readerDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if pk, ok := pr.recv(50 * time.Millisecond); ok {
				mu.Lock()
				pkts = append(pkts, pk)
				mu.Unlock()
			}
		}
	}()

	// Wall-clock bounds say little on a loaded machine, so the test waits for
	// packets rather than for time: some silence first, then the tone, then silence.
	waitPackets := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(pkts)
			mu.Unlock()
			if got >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("fewer than %d packets within 10 s", n)
	}
	waitPackets(15)       // silence first
	const toneFrames = 20 // 400 ms
	clip := tone(1000, 8000, toneFrames*160)
	began := time.Now()
	if err := s.Play(context.Background(), NewClip(clip)); err != nil {
		t.Fatalf("Play: %v", err)
	}
	// Play returns once its audio was sent; the clock never runs ahead of real time.
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("Play of 400 ms returned after %v, before its audio could have been sent", took)
	}
	mu.Lock()
	after := len(pkts)
	mu.Unlock()
	waitPackets(after + 20) // silence after
	close(stop)
	<-readerDone

	mu.Lock()
	defer mu.Unlock()
	first := pkts[0]
	var toneStart, toneEnd = -1, -1
	for i, pk := range pkts {
		if pk.h.PayloadType != 0 || len(pk.payload) != 160 {
			t.Fatalf("packet %d: PT %d, %d bytes; want PT 0, 160 bytes", i, pk.h.PayloadType, len(pk.payload))
		}
		if pk.h.SSRC != first.h.SSRC {
			t.Fatalf("packet %d: SSRC changed", i)
		}
		if pk.h.Marker != (i == 0) {
			t.Errorf("packet %d: marker %v", i, pk.h.Marker)
		}
		if i > 0 {
			prev := pkts[i-1].h
			if pk.h.SequenceNumber != prev.SequenceNumber+1 || pk.h.Timestamp != prev.Timestamp+160 {
				t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d", i, pk.h.SequenceNumber,
					pk.h.Timestamp, prev.SequenceNumber, prev.Timestamp)
			}
		}
		if !isSilence(pk.payload) {
			if toneStart < 0 {
				toneStart = i
			}
			toneEnd = i + 1
		}
	}
	if toneStart < 5 {
		t.Fatalf("no silence before the tone (tone starts at packet %d)", toneStart)
	}
	if n := toneEnd - toneStart; n != toneFrames {
		t.Fatalf("tone in %d packets [%d,%d), want %d", n, toneStart, toneEnd, toneFrames)
	}
	if toneEnd > len(pkts)-10 {
		t.Fatalf("no silence after the tone")
	}
	var got []int16
	for _, pk := range pkts[toneStart:toneEnd] {
		got = append(got, decodeMulaw(pk.payload)...)
	}
	on, off := goertzel(got, 1000), goertzel(got, 1400)
	if ref := goertzel(clip, 1000); on < ref*0.9 || on < 100*off {
		t.Errorf("tone power at 1 kHz %.0f (sent %.0f), at 1.4 kHz %.0f", on, ref, off)
	}

	// Pacing: 50 packets a second, measured over the middle second.
	span := pkts[len(pkts)-1].at.Sub(pkts[0].at)
	rate := float64(len(pkts)-1) / span.Seconds()
	if rate < 46 || rate > 54 {
		t.Errorf("%d packets in %v: %.1f packets/s, want 50", len(pkts), span, rate)
	}
	// The counter follows the write by a moment: wait for it.
	eventually(t, time.Second, "packets_sent_total to count what was received", func() bool {
		return metric(t, reg, "hotline_rtp_packets_sent_total") >= float64(len(pkts))
	})
}

// TestPlayReturnsWhenSent drives the clock by hand: Play of a 5-frame clip returns right
// after the fifth packet left, the sixth is silence, and nothing plays before Start.
func TestPlayReturnsWhenSent(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, withManualClock())
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	m := manual{s: s, t0: time.Now()}
	clip := NewClip(tone(1000, 8000, 5*160))
	done := make(chan error, 1)
	go func() { done <- s.Play(context.Background(), clip) }()
	waitPlaying(t, s, clip)

	m.tick(0) // not started: the clock does not know the session yet, and Play waits
	pr.none(20 * time.Millisecond)
	s.Start()
	for k := range 5 {
		select {
		case err := <-done:
			t.Fatalf("Play returned %v after %d frames", err, k)
		default:
		}
		m.tick(k)
		if pk := pr.must(time.Second); isSilence(pk.payload) {
			t.Fatalf("frame %d is silence", k)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Play: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Play did not return after its last packet was sent")
	}
	m.tick(5)
	if pk := pr.must(time.Second); !isSilence(pk.payload) {
		t.Fatal("audio after the clip ended")
	}
}

func TestPlayCancel(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	src := constSource{v: 4000}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.s.Play(ctx, src) }()
	waitPlaying(t, m.s, src)
	for k := range 3 {
		m.tick(k)
		if pk := pr.must(time.Second); pk.payload[0] != codec.MulawEncode(4000) {
			t.Fatalf("frame %d: not the source's audio", k)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Play after cancel: %v", err)
	}
	m.tick(3) // the very next tick
	if pk := pr.must(time.Second); !isSilence(pk.payload) {
		t.Fatal("audio continued after the context was cancelled")
	}

	// A Play whose context is already done does not cut the one playing.
	go func() { done <- m.s.Play(context.Background(), src) }()
	waitPlaying(t, m.s, src)
	if err := m.s.Play(ctx, constSource{v: -4000}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Play with a cancelled context: %v", err)
	}
	m.tick(4)
	if pk := pr.must(time.Second); pk.payload[0] != codec.MulawEncode(4000) {
		t.Fatal("a dead Play interrupted the current one")
	}
	if err := m.s.Play(context.Background(), nil); !errors.Is(err, ErrNilSource) {
		t.Fatalf("Play(nil): %v", err)
	}
	_ = m.s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Play across Close: %v", err)
	}
}

func TestPlayReplaces(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	a, b := constSource{v: 4000}, constSource{v: -3000}
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go func() { doneA <- m.s.Play(context.Background(), a) }()
	waitPlaying(t, m.s, a)
	m.tick(0)
	if pk := pr.must(time.Second); pk.payload[0] != codec.MulawEncode(4000) {
		t.Fatal("first Play not heard")
	}
	go func() { doneB <- m.s.Play(context.Background(), b) }()
	if err := <-doneA; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("replaced Play returned %v, want ErrInterrupted", err)
	}
	waitPlaying(t, m.s, b)
	m.tick(1)
	if pk := pr.must(time.Second); pk.payload[0] != codec.MulawEncode(-3000) {
		t.Fatal("second Play not heard")
	}
	_ = m.s.Close()
	if err := <-doneB; !errors.Is(err, ErrClosed) {
		t.Fatalf("Play ended by Close returned %v, want ErrClosed", err)
	}
	if err := m.s.Play(context.Background(), a); !errors.Is(err, ErrClosed) {
		t.Fatalf("Play after Close: %v", err)
	}
	m.tick(2) // a tick after Close sends nothing and does not crash
	pr.none(20 * time.Millisecond)
}

// TestPtime checks packet size and timestamp step for every usual packet time, driven
// by the 20 ms clock: 30 ms frames go out on the tick nearest their due time.
func TestPtime(t *testing.T) {
	for _, ptime := range []time.Duration{10, 20, 30, 40, 60} {
		ptime *= time.Millisecond
		t.Run(ptime.String(), func(t *testing.T) {
			m, pr := startManual(t, Config{}, func(p *Params) { p.Ptime = ptime })
			const ms = 1200
			for k := range ms / 20 {
				m.tick(k)
			}
			// Frames due by the last tick (plus the quarter-tick slack) went out:
			// with 10 ms frames the last one waits for the next tick.
			want := int((ms-20+5)/(ptime/time.Millisecond)) + 1
			size := int(8 * (ptime / time.Millisecond))
			var prev packet
			for i := range want {
				pk := pr.must(time.Second)
				if len(pk.payload) != size {
					t.Fatalf("packet %d: %d bytes, want %d", i, len(pk.payload), size)
				}
				if i > 0 && (pk.h.Timestamp-prev.h.Timestamp != uint32(size) || pk.h.SequenceNumber != prev.h.SequenceNumber+1) {
					t.Fatalf("packet %d: ts step %d seq step %d", i, pk.h.Timestamp-prev.h.Timestamp,
						pk.h.SequenceNumber-prev.h.SequenceNumber)
				}
				prev = pk
			}
			pr.none(20 * time.Millisecond)
			if got := m.s.Stats().PacketsSent; got != uint64(want) {
				t.Errorf("Stats.PacketsSent %d, want %d", got, want)
			}
		})
	}
}

func TestConfigureRejects(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, withManualClock())
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	bad := []Params{
		{},
		{Codec: codec.PCMU, Ptime: 25 * time.Millisecond},
		{Codec: codec.PCMU, Ptime: 130 * time.Millisecond},
		{Codec: codec.PCMU, PayloadType: 200},
		{Codec: codec.PCMU, DTMFPayloadType: 128},
	}
	for _, p := range bad {
		p.Remote = pr.addr
		if err := s.Configure(p); err == nil {
			t.Errorf("Configure(%+v) accepted", p)
		}
	}
	if s.SampleRate() != 0 {
		t.Error("a rejected Configure took effect")
	}
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	if s.SampleRate() != 8000 {
		t.Errorf("SampleRate %d", s.SampleRate())
	}
	_ = s.Close()
	if err := s.Configure(pcmu(pr.addr)); !errors.Is(err, ErrClosed) {
		t.Errorf("Configure after Close: %v", err)
	}
}

// TestCodecChange: a re-INVITE that switches to PCMA changes payload type and encoding
// on the next packet, and the stream (SSRC, sequence, timestamp) continues.
func TestCodecChange(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	m.tick(0)
	before := pr.must(time.Second)
	p := pcmu(pr.addr)
	p.Codec, p.PayloadType = codec.PCMA, 8
	if err := m.s.Configure(p); err != nil {
		t.Fatal(err)
	}
	m.tick(1)
	after := pr.must(time.Second)
	if after.h.PayloadType != 8 || after.payload[0] != codec.AlawSilence {
		t.Fatalf("after the switch: PT %d payload %#x, want PT 8 A-law silence", after.h.PayloadType, after.payload[0])
	}
	if after.h.SSRC != before.h.SSRC || after.h.SequenceNumber != before.h.SequenceNumber+1 ||
		after.h.Timestamp != before.h.Timestamp+160 || after.h.Marker {
		t.Fatalf("stream broken by the codec switch: %+v then %+v", before.h, after.h)
	}
}
