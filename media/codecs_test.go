package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// TestWidebandCall: two sessions of one engine call each other (A's remote is B and
// vice versa) with G.722 and with Opus; a 1 kHz tone A plays reaches B's sink intact at
// the codec's rate, over real sockets and the real clock, and the stream timestamps
// advance by the clock rate, not the sample rate.
func TestWidebandCall(t *testing.T) {
	for _, c := range codecCases[1:] {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			a, b := newTestSession(t, e), newTestSession(t, e)
			if err := a.Configure(paramsFor(c, b.LocalAddr())); err != nil {
				t.Fatal(err)
			}
			if err := b.Configure(paramsFor(c, a.LocalAddr())); err != nil {
				t.Fatal(err)
			}
			rate := c.c.SampleRate()
			if a.SampleRate() != rate {
				t.Fatalf("SampleRate %d, want %d", a.SampleRate(), rate)
			}
			sink := &captureSink{}
			b.AddSink(sink)
			a.Start()
			b.Start()
			clip := toneAt(1000, 8000, rate, rate) // 1 s
			if err := a.Play(context.Background(), NewClip(clip)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // the jitter buffer's delay
			pcm := sink.audio()
			loud := loudFrames(pcm, rate)
			first := 0
			for first < len(loud) && !loud[first] {
				first++
			}
			spf := rate / 50
			if first+45 > len(loud) {
				t.Fatalf("tone heard in %d frames from frame %d of %d", len(loud)-first, first, len(loud))
			}
			assertTone(t, c.name+" at B", pcm[(first+2)*spf:(first+45)*spf], rate)
			if a.Stats().PacketsSent == 0 || b.Stats().PacketsReceived < 40 {
				t.Errorf("A sent %d, B received %d", a.Stats().PacketsSent, b.Stats().PacketsReceived)
			}
			if q := b.Quality(); q.LossPercent != 0 || q.PacketsReceived == 0 {
				t.Errorf("B's quality %+v", q)
			}
		})
	}
}

// TestOpusPtime: Opus cannot code 30 ms frames, so Configure says so clearly (the SIP
// layer then falls back to its own ptime); 10, 20, 40 and 60 ms work, and a 60 ms
// stream is played out in 20 ms frames.
func TestOpusPtime(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, withManualClock())
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	p := paramsFor(codecCases[2], pr.addr)
	p.Ptime = 30 * time.Millisecond
	err := s.Configure(p)
	if !errors.Is(err, ErrPtime) {
		t.Fatalf("opus at 30 ms: %v, want ErrPtime", err)
	}
	t.Logf("error: %v", err)
	for _, ms := range []time.Duration{10, 20, 40, 60} {
		p.Ptime = ms * time.Millisecond
		if err := s.Configure(p); err != nil {
			t.Errorf("opus at %v: %v", p.Ptime, err)
		}
	}
	if err := s.Configure(Params{Codec: codec.G722, PayloadType: 9, Remote: pr.addr, Ptime: 30 * time.Millisecond}); err != nil {
		t.Errorf("G.722 at 30 ms: %v", err)
	}
	if sp := s.params.Load(); sp.samplesPerFrame != 480 || sp.tsPerFrame != 240 {
		t.Errorf("G.722 30 ms: %d samples, %d timestamp units per frame; want 480 and 240", sp.samplesPerFrame, sp.tsPerFrame)
	}
}

// TestPtimeMismatch: the caller sends 30 ms packets while we play 20 ms frames; the
// playout queue regroups them, so the sink still gets a continuous tone, 160 samples a
// tick.
func TestPtimeMismatch(t *testing.T) {
	r := newCallRig(t, codecCases[0], rigOptions{})
	sink := &captureSink{}
	r.s.AddSink(sink)
	pcm := toneAt(1000, 8000, 8000, 240*200)
	buf := make([]byte, 240)
	sent := 0
	for k := range 150 { // 3 s of ticks, a 30 ms packet every 1.5 ticks
		r.now = r.now.Add(20 * time.Millisecond)
		for (sent+1)*30 <= (k+1)*20+60 {
			codec.EncodeMulaw(buf, pcm[sent*240:(sent+1)*240])
			pkt := buildRTP(rtpHeader(r.p.PayloadType, uint16(5000+sent), uint32(900000+sent*240)), buf)
			r.s.handlePacket(pkt, r.from, r.now, r.st)
			sent++
		}
		r.s.tick(r.now)
	}
	got := sink.audio()
	loud := loudFrames(got, 8000)
	quiet := 0
	for _, l := range loud[20:] {
		if !l {
			quiet++
		}
	}
	if quiet > 0 {
		t.Errorf("%d of %d frames not loud with 30 ms packets", quiet, len(loud)-20)
	}
	assertTone(t, "30 ms packets", got[20*160:], 8000)
}
