package media

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
	"github.com/hotline-ivr/hotline/media/vad"
)

// captureSink keeps a copy of everything it is given.
type captureSink struct {
	mu     sync.Mutex
	pcm    []int16
	frames int
	// stereo
	caller, engine []int16
	lens           []int
}

func (c *captureSink) WriteAudio(pcm []int16) {
	c.mu.Lock()
	c.pcm = append(c.pcm, pcm...)
	c.frames++
	c.mu.Unlock()
}

func (c *captureSink) WriteStereo(caller, engine []int16) {
	c.mu.Lock()
	c.caller = append(c.caller, caller...)
	c.engine = append(c.engine, engine...)
	c.lens = append(c.lens, len(caller), len(engine))
	c.frames++
	c.mu.Unlock()
}

func (c *captureSink) audio() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...)
}

func (c *captureSink) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// goertzelAt is the power of x at freq Hz for sampling rate rate, normalised by length.
func goertzelAt(x []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s
	}
	return (s1*s1 + s2*s2 - coeff*s1*s2) / float64(len(x)*len(x))
}

// assertTone checks that x carries a 1 kHz tone: strong at 1 kHz, weak elsewhere.
func assertTone(t *testing.T, what string, x []int16, rate int) {
	t.Helper()
	if len(x) == 0 {
		t.Fatalf("%s: no audio", what)
	}
	on, off := goertzelAt(x, 1000, rate), goertzelAt(x, 1400, rate)
	if on < 1e5 || on < 30*off {
		t.Fatalf("%s: tone power %.3g at 1 kHz, %.3g at 1.4 kHz", what, on, off)
	}
}

// TestPlayoutEveryCodec drives the pipeline by hand for each codec: the caller's tone,
// pushed through handlePacket and played out by the tick, reaches a sink as the same
// tone at the codec's rate, one frame per tick; with 5 % loss it still does, and the
// losses are concealed and counted.
func TestPlayoutEveryCodec(t *testing.T) {
	for _, c := range codecCases {
		for _, loss := range []int{0, 20} {
			t.Run(fmt.Sprintf("%s/loss1in%d", c.name, loss), func(t *testing.T) {
				r := newCallRig(t, c, rigOptions{})
				sink := &captureSink{}
				r.s.AddSink(sink)
				r.loss = loss
				before := r.s.Stats().Concealed
				const frames = 150
				for range frames {
					r.call()
				}
				if n := sink.count(); n != frames {
					t.Fatalf("sink got %d frames in %d ticks", n, frames)
				}
				pcm := sink.audio()
				rate := c.c.SampleRate()
				if len(pcm) != frames*rate/50 {
					t.Fatalf("sink got %d samples, want %d at %d Hz", len(pcm), frames*rate/50, rate)
				}
				assertTone(t, c.name, pcm, rate)
				concealed := int(r.s.Stats().Concealed - before)
				t.Logf("%d frames concealed, tone %.3g at 1 kHz", concealed, goertzelAt(pcm, 1000, rate))
				if loss == 0 && concealed != 0 {
					t.Errorf("%d frames concealed without loss", concealed)
				}
				if loss > 0 && (concealed < frames/loss-2 || concealed > frames/loss+2) {
					t.Errorf("%d frames concealed, want about %d", concealed, frames/loss)
				}
				if fec := metric(t, metricsOf(t, r.s), "hotline_media_fec_recovered_frames_total"); c.name == "opus" && loss > 0 && fec == 0 {
					t.Error("no lost Opus frame recovered from in-band FEC")
				}
				if want := uint32(c.c.ClockRate() / 50); r.p.tsPerFrame != want || r.p.samplesPerFrame != rate/50 {
					t.Errorf("%d timestamp units and %d samples per 20 ms frame, want %d and %d",
						r.p.tsPerFrame, r.p.samplesPerFrame, want, rate/50)
				}
				// Concealment keeps the level: no frame of the middle goes silent.
				spf := rate / 50
				for i := 10; i < frames-10; i++ {
					if rms(pcm[i*spf:(i+1)*spf]) < 1000 {
						t.Fatalf("frame %d of %d is nearly silent (rms %.0f)", i, frames, rms(pcm[i*spf:(i+1)*spf]))
					}
				}
			})
		}
	}
}

func rms(x []int16) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(x))))
}

// TestStereoSinkAligned: every tick gives the stereo sink the caller's frame and ours,
// same length, ours exactly what was played (zeros while we do not send).
func TestStereoSinkAligned(t *testing.T) {
	r := newCallRig(t, codecCases[1], rigOptions{play: true}) // G.722: 320 samples a frame
	sink := &captureSink{}
	r.s.AddStereoSink(sink)
	mono := &captureSink{}
	removeMono := r.s.AddSink(mono)
	sent := r.s.Stats().PacketsSent
	const frames = 60
	for range frames {
		r.call()
	}
	if sink.count() != frames || r.s.Stats().PacketsSent-sent != frames {
		t.Fatalf("%d stereo frames, %d packets sent, in %d ticks", sink.count(), r.s.Stats().PacketsSent-sent, frames)
	}
	for i := 0; i < len(sink.lens); i += 2 {
		if sink.lens[i] != 320 || sink.lens[i+1] != 320 {
			t.Fatalf("frame %d: caller %d samples, engine %d; want 320 and 320", i/2, sink.lens[i], sink.lens[i+1])
		}
	}
	// Ours is the 440 Hz prompt, theirs the 1 kHz tone: each side carries its own.
	if p440, p1k := goertzelAt(sink.engine, 440, 16000), goertzelAt(sink.engine, 1000, 16000); p440 < 100*p1k {
		t.Errorf("engine side: 440 Hz %.3g, 1 kHz %.3g", p440, p1k)
	}
	assertTone(t, "caller side", sink.caller, 16000)
	// The mono sink saw exactly the caller side.
	if got := mono.audio(); len(got) != len(sink.caller) || got[1000] != sink.caller[1000] {
		t.Errorf("mono sink and stereo caller side differ")
	}
	removeMono()
	removeMono() // idempotent
	r.call()
	if mono.count() != frames {
		t.Errorf("removed sink still called")
	}

	// On hold (sendonly towards us): our side is silence.
	held := paramsFor(codecCases[1], r.from)
	held.Send = false
	if err := r.s.Configure(held); err != nil {
		t.Fatal(err)
	}
	r.p = r.s.params.Load()
	n := len(sink.engine)
	for range 5 {
		r.call()
	}
	for i, v := range sink.engine[n:] {
		if v != 0 {
			t.Fatalf("engine side sample %d = %d while not sending", i, v)
		}
	}
}

// TestPlayoutNewStream: an SSRC change mid-call resets the decoder and the audio goes on.
func TestPlayoutNewStream(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.name, func(t *testing.T) {
			r := newCallRig(t, c, rigOptions{})
			sink := &captureSink{}
			r.s.AddSink(sink)
			dec := r.p.play.dec
			for range 20 {
				r.call()
			}
			// The caller's stream restarts: new SSRC, sequence and timestamp.
			r.seq, r.ts = 40000, 123456789
			r.pkt = r.pkt[:0:0]
			r.pkt = make([]byte, 1500)
			for i := range 80 {
				r.now = r.now.Add(20 * time.Millisecond)
				h := rtp.Header{PayloadType: r.p.PayloadType, SequenceNumber: r.seq, Timestamp: r.ts, SSRC: 0xBEEF}
				_, _ = h.MarshalTo(r.pkt)
				n := copy(r.pkt[rtp.HeaderSize:], r.payload[i%len(r.payload)])
				r.seq++
				r.ts += r.p.tsPerFrame
				r.s.handlePacket(r.pkt[:rtp.HeaderSize+n], r.from, r.now, r.st)
				r.s.tick(r.now)
			}
			if r.p.play.dec == dec && c.name != "pcmu" {
				t.Error("decoder not replaced for the new stream")
			}
			pcm := sink.audio()
			assertTone(t, "after the switch", pcm[len(pcm)/2:], c.c.SampleRate())
		})
	}
}

// TestVADNetworkGaps: on a line with background noise, a stall of the caller's packets
// (the playout conceals, then plays silence) is no speech: the detector hears the
// line's background in place of the invented silence, so the noise coming back does
// not start speech. And a caller who stops sending mid-speech (a stall, Opus DTX) still
// gets its SpeechEnd.
func TestVADNetworkGaps(t *testing.T) {
	r := newCallRig(t, codecCases[0], rigOptions{})
	rng := rand.New(rand.NewPCG(4, 4))
	frame := make([]int16, 160)
	enc := make([]byte, 160)
	next := func(loud bool) {
		for i := range frame {
			frame[i] = int16(rng.NormFloat64() * 30)
		}
		if loud {
			for i, v := range toneAt(300, 6000, 8000, 160) {
				frame[i] += v
			}
		}
		codec.EncodeMulaw(enc, frame)
		r.payload = [][]byte{enc}
	}
	if err := r.s.EnableVAD(vad.Config{}); err != nil {
		t.Fatal(err)
	}
	events := func() (out []vad.Event) {
		for {
			select {
			case e := <-r.s.SpeechEvents():
				out = append(out, e.Kind)
			default:
				return out
			}
		}
	}
	step := func(send, loud bool) {
		next(loud)
		r.now = r.now.Add(20 * time.Millisecond)
		if send {
			r.receive()
		} else {
			r.packet() // lost on the way
		}
		r.s.tick(r.now)
	}
	for k := range 400 {
		gap := k%100 >= 50 && k%100 < 50+(k/100+1)*4 // stalls of 80, 160, 240, 320 ms
		step(!gap, false)
	}
	if ev := events(); len(ev) != 0 {
		t.Fatalf("speech events on noise with network stalls: %v", ev)
	}
	for range 50 {
		step(true, true) // 1 s of "speech"
	}
	for range 50 {
		step(false, false) // the caller stops sending
	}
	if ev := events(); len(ev) != 2 || ev[0] != vad.SpeechStart || ev[1] != vad.SpeechEnd {
		t.Fatalf("events %v, want speech start then end after the caller stopped", ev)
	}
}

// TestPlayoutUnheard: while nothing hears the caller (no sink, no VAD, no in-band
// detector), the tick pops the jitter buffer at the caller's pace without decoding,
// and lost frames are still counted; once a sink is added the caller's tone reaches
// it, one frame per tick, as if it had been decoded all along.
func TestPlayoutUnheard(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.name, func(t *testing.T) {
			r := newCallRig(t, c, rigOptions{})
			r.loss = 20
			const unheard, heard = 100, 150
			for range unheard {
				r.call()
			}
			pl := r.p.play
			if pl.decUsed {
				t.Error("the decoder ran while nothing heard the caller")
			}
			st := pl.jb.Stats()
			if st.Played+st.Lost < unheard-5 || st.Buffered > 5 || st.Overflow > 0 {
				t.Errorf("jitter buffer after %d unheard ticks: %d played, %d lost, %d buffered, %d overflowed; want it popped every tick",
					unheard, st.Played, st.Lost, st.Buffered, st.Overflow)
			}
			concealed := int(r.s.Stats().Concealed)
			if concealed < unheard/20-2 || concealed > unheard/20+2 {
				t.Errorf("%d frames counted concealed while unheard, want about %d", concealed, unheard/20)
			}

			sink := &captureSink{}
			r.s.AddSink(sink)
			for range heard {
				r.call()
			}
			if n := sink.count(); n != heard {
				t.Fatalf("sink got %d frames in %d ticks", n, heard)
			}
			rate := c.c.SampleRate()
			pcm := sink.audio()
			if len(pcm) != heard*rate/50 {
				t.Fatalf("sink got %d samples, want %d at %d Hz", len(pcm), heard*rate/50, rate)
			}
			assertTone(t, c.name, pcm, rate)
			if !pl.decUsed {
				t.Error("the decoder did not run once the caller was heard")
			}
			concealed = int(r.s.Stats().Concealed) - concealed
			if concealed < heard/20-2 || concealed > heard/20+2 {
				t.Errorf("%d frames concealed while heard, want about %d", concealed, heard/20)
			}
		})
	}
}
