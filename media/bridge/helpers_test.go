package bridge

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
)

// newEngine starts a media engine on loopback for one test.
func newEngine(t testing.TB) *media.Engine {
	t.Helper()
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42999},
		media.WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatalf("media engine: %v", err)
	}
	t.Cleanup(eng.Close)
	return eng
}

// newLeg returns two sessions sending to each other with c: near is the engine's
// side of a call (what the bridge joins), far the phone at the other end.
func newLeg(t testing.TB, eng *media.Engine, c codec.Codec, pt uint8) (near, far *media.Session) {
	t.Helper()
	var err error
	if near, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	if far, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]*media.Session{{near, far}, {far, near}} {
		if err := s[0].Configure(media.Params{Codec: c, PayloadType: pt, DTMFPayloadType: 101,
			Remote: s[1].LocalAddr(), Send: true, Recv: true, SignalingSource: netip.MustParseAddr("127.0.0.1")}); err != nil {
			t.Fatalf("configure %s: %v", c.Name(), err)
		}
		s[0].Start()
	}
	t.Cleanup(func() { near.Close(); far.Close() })
	return near, far
}

// recorder is a Sink keeping what it hears (tests only: it allocates).
type recorder struct {
	mu  sync.Mutex
	pcm []int16
}

func (r *recorder) WriteAudio(pcm []int16) {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.mu.Unlock()
}

func (r *recorder) take() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pcm
	r.pcm = nil
	return out
}

// toneLevel is the Goertzel power of freq in pcm relative to the total power (0..1):
// near 1 for a clean tone, near 0 when the tone is absent.
func toneLevel(pcm []int16, rate int, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s := x + coeff*s1 - s2
		s2, s1 = s1, s
		total += x * x
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	if total == 0 {
		return 0
	}
	return p / (total * float64(len(pcm)) / 2)
}

// toneFrames is the share of 20 ms frames of pcm in which freq dominates: robust to
// the odd glitch of a loaded machine (a late tick), which a single Goertzel over
// the whole recording is not.
func toneFrames(pcm []int16, rate int, freq float64) float64 {
	n := rate / 50
	frames, hits := 0, 0
	for len(pcm) >= n {
		frames++
		if toneLevel(pcm[:n], rate, freq) > 0.5 {
			hits++
		}
		pcm = pcm[n:]
	}
	if frames == 0 {
		return 0
	}
	return float64(hits) / float64(frames)
}

// playTone plays a tone source to s until ctx ends (a background helper).
func playTone(ctx context.Context, s *media.Session, freq float64) {
	_ = s.Play(ctx, &toneSource{w: 2 * math.Pi * freq / float64(s.SampleRate())})
}

// toneSource is an endless sine at -10 dBFS.
type toneSource struct {
	w, ph float64
}

func (s *toneSource) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = int16(10000 * math.Sin(s.ph))
		s.ph += s.w
	}
	s.ph = math.Mod(s.ph, 2*math.Pi)
	return len(frame), nil
}

// settle waits d (audio needs real time to flow through RTP).
func settle(d time.Duration) { time.Sleep(d) }
