package media

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/vad"
)

// End-to-end tests of the receive pipeline on a real engine: a Go RTP peer on 127.0.0.1
// sends a scripted, impaired stream in real time; the session's real clock plays it
// out to sinks, detectors and Digits.

// liveSession is a started session on the real clock, configured towards a fresh peer.
func liveSession(t *testing.T, cfg Config, edit func(*Params)) (*Session, *peer, *prometheus.Registry) {
	t.Helper()
	e, reg := newTestEngine(t, cfg)
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
	return s, pr, reg
}

// loudFrames marks each 20 ms frame of pcm (at rate) whose level is a tone's, not
// silence or concealment faded out.
func loudFrames(pcm []int16, rate int) []bool {
	spf := rate / 50
	out := make([]bool, len(pcm)/spf)
	for i := range out {
		out[i] = rms(pcm[i*spf:(i+1)*spf]) > 1000
	}
	return out
}

// TestImpairedCaller: a caller's 1 kHz tone with 5 % loss, 5 % reordering and 5 %
// duplication, with RFC 4733 digits in the stream, reaches a sink as a continuous tone
// through the jitter buffer; the losses are concealed and counted and each digit is
// reported exactly once.
func TestImpairedCaller(t *testing.T) {
	s, pr, reg := liveSession(t, Config{}, nil)
	sink := &captureSink{}
	s.AddSink(sink)
	sc := newScript(t, codec.PCMU, 0).tone(50).digits("12").tone(50).digits("3").tone(50)
	lost, dup, reord := sc.play(pr, s.LocalAddr(), impairment{loss: 0.05, dup: 0.05, reorder: 0.05, seed: 1})
	t.Logf("network: %d lost, %d duplicated, %d reordered of %d", lost, dup, reord, len(sc.slots))
	if got := readDigits(t, s, 3, 2*time.Second); got != "123" {
		t.Fatalf("digits %q, want 123", got)
	}
	pcm := sink.audio()
	assertTone(t, "caller audio", pcm, 8000)
	loud := loudFrames(pcm, 8000)
	first, last, n := -1, -1, 0
	for i, l := range loud {
		if l {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	// 162 of the script's 183 slots are tone; events and their gaps are not.
	if span := last - first + 1; span < 170 || n < 140 {
		t.Errorf("tone heard in %d frames over a span of %d, want about 160 over 183", n, span)
	}
	jb := s.params.Load().play.jb.Stats()
	t.Logf("jitter buffer: %+v", jb)
	if s.Stats().Concealed == 0 || metric(t, reg, "hotline_media_concealed_frames_total") == 0 {
		t.Errorf("no concealment counted after %d lost packets", lost)
	}
	if jb.Duplicate == 0 || jb.Reordered+jb.Late == 0 {
		t.Errorf("jitter buffer saw no duplicates or reordering: %+v", jb)
	}
}

// TestFaultyCaller is issue 3 item 10's faulty source: reordering, 5 % loss,
// duplicates, a timestamp jump, an SSRC switch mid-call and garbage datagrams. Decoding
// goes on after each fault, every digit is reported exactly once, the garbage is
// counted by reason, and nothing panics.
func TestFaultyCaller(t *testing.T) {
	s, pr, reg := liveSession(t, Config{}, nil)
	sink := &captureSink{}
	s.AddSink(sink)
	sc := newScript(t, codec.PCMU, 0).tone(40).digits("45").tone(20)
	garbage := sc.garbage()
	sc.jumpTS(1_000_000).tone(40)
	garbage += sc.garbage()
	sc.digits("6").newSSRC().tone(40)
	garbage += sc.garbage()
	sc.digits("7#").tone(50)
	sc.play(pr, s.LocalAddr(), impairment{loss: 0.05, dup: 0.05, reorder: 0.05, seed: 2})
	if got := readDigits(t, s, 5, 2*time.Second); got != "4567#" {
		t.Fatalf("digits %q, want 4567#", got)
	}
	if g := s.Stats().Garbage; g != uint64(garbage) {
		t.Errorf("garbage counted %d, sent %d", g, garbage)
	}
	for _, reason := range []string{"short", "bad_version", "unknown_payload_type"} {
		if n := metric(t, reg, "hotline_rtp_garbage_packets_total", "reason", reason); n != 3 {
			t.Errorf("garbage{reason=%q} = %v, want 3", reason, n)
		}
	}
	jb := s.params.Load().play.jb.Stats()
	if jb.SSRCChanges == 0 || jb.Resyncs == 0 {
		t.Errorf("jitter buffer saw no SSRC change or resync: %+v", jb)
	}
	// After the last fault the tone plays on: the final stretch of audio is the tone.
	pcm := sink.audio()
	loud := loudFrames(pcm, 8000)
	last := len(loud) - 1
	for last >= 0 && !loud[last] {
		last--
	}
	if last < 40 {
		t.Fatalf("no tone at the end (last loud frame %d)", last)
	}
	tail := pcm[(last-35)*160 : (last+1)*160]
	assertTone(t, "audio after the SSRC switch", tail, 8000)
}

// TestInbandDigits: a caller that sends DTMF as tones in G.711 audio, without
// telephone-event, has its digits detected; with telephone-event negotiated ("auto")
// tones are not listened for.
func TestInbandDigits(t *testing.T) {
	toneScript := func(t *testing.T, digits string) *script {
		src, err := dtmf.NewToneSource(digits, 8000, 0, 0, dtmf.DefaultToneLevel)
		if err != nil {
			t.Fatal(err)
		}
		sc := newScript(t, codec.PCMU, 0).silence(10)
		frames := (len(digits)*200 + 19) / 20
		return sc.pcm(frames, func(f []int16) {
			n, _ := src.Read(f)
			clear(f[n:])
		}).silence(10)
	}
	t.Run("no telephone-event", func(t *testing.T) {
		s, pr, reg := liveSession(t, Config{}, func(p *Params) { p.DTMFPayloadType = -1 })
		toneScript(t, "159#").play(pr, s.LocalAddr(), impairment{loss: 0.02, seed: 3})
		if got := readDigits(t, s, 4, 2*time.Second); got != "159#" {
			t.Fatalf("digits %q, want 159#", got)
		}
		if n := metric(t, reg, "hotline_dtmf_digits_total", "source", "inband"); n != 4 {
			t.Errorf("inband digits counted %v, want 4", n)
		}
	})
	t.Run("auto with telephone-event", func(t *testing.T) {
		s, pr, _ := liveSession(t, Config{}, nil)
		toneScript(t, "2").play(pr, s.LocalAddr(), impairment{})
		select {
		case d := <-s.Digits():
			t.Fatalf("tone detected as %q although telephone-event was negotiated", d)
		case <-time.After(300 * time.Millisecond):
		}
	})
	t.Run("always, both routes", func(t *testing.T) {
		// A carrier that sends the event and leaves the tone in the audio: one digit.
		s, pr, reg := liveSession(t, Config{InbandDTMF: InbandDTMFAlways}, nil)
		src, err := dtmf.NewToneSource("8", 8000, 0, 0, dtmf.DefaultToneLevel)
		if err != nil {
			t.Fatal(err)
		}
		sc := newScript(t, codec.PCMU, 0).silence(10).pcm(10, func(f []int16) {
			n, _ := src.Read(f)
			clear(f[n:])
		}).digits("8").silence(10)
		sc.play(pr, s.LocalAddr(), impairment{})
		if got := readDigits(t, s, 1, 2*time.Second); got != "8" {
			t.Fatalf("digits %q, want one 8", got)
		}
		dups := metric(t, reg, "hotline_dtmf_duplicates_total", "source", "inband") +
			metric(t, reg, "hotline_dtmf_duplicates_total", "source", "rfc4733")
		if dups != 1 {
			t.Errorf("duplicates counted %v, want 1", dups)
		}
	})
}

// TestDigitMerge: the same key press by RFC 4733 and SIP INFO within the merge window
// is reported once; a later press by INFO alone is reported.
func TestDigitMerge(t *testing.T) {
	s, pr, reg := liveSession(t, Config{}, nil)
	pr.sendDigits(s.LocalAddr(), "7")
	s.InjectDigit('7')
	if got := readDigits(t, s, 1, 2*time.Second); got != "7" {
		t.Fatalf("digits %q, want one 7", got)
	}
	if n := metric(t, reg, "hotline_dtmf_duplicates_total", "source", "sip_info") +
		metric(t, reg, "hotline_dtmf_duplicates_total", "source", "rfc4733"); n != 1 {
		t.Errorf("duplicates counted %v, want 1", n)
	}
	time.Sleep(DefaultDTMFMergeWindow + 100*time.Millisecond)
	s.InjectDigit('7') // a new press, by INFO only
	if got := readDigits(t, s, 1, time.Second); got != "7" {
		t.Fatalf("second press: %q", got)
	}
	s.InjectDigit('x') // not a digit: ignored, not reported
	select {
	case d := <-s.Digits():
		t.Fatalf("non-digit reported as %q", d)
	case <-time.After(50 * time.Millisecond):
	}
}

// espeak synthesises text with espeak-ng at rate. The test needs espeak-ng (the engine's
// default TTS); it fails rather than skips without it.
func espeak(t *testing.T, text string, rate int) []int16 {
	t.Helper()
	path, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("espeak-ng is required for this test (apt-get install espeak-ng): %v", err)
	}
	out, err := exec.Command(path, "--stdout", "-s", "150", text).Output()
	if err != nil {
		t.Fatalf("espeak-ng: %v", err)
	}
	pcm, r, err := audio.ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	pcm, err = audio.Resample(pcm, r, rate)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// TestVADSpeech: with the VAD on, a caller who is quiet (line noise at -60 dBFS)
// produces no speech event; when it starts sending espeak-ng speech, SpeechStart
// arrives promptly with an onset that points back at the first syllable, and SpeechEnd
// follows the speech.
func TestVADSpeech(t *testing.T) {
	speech := espeak(t, "Hello, I would like to check my balance please.", 8000)
	onset := 0
	for onset < len(speech) && (speech[onset] > -500 && speech[onset] < 500) {
		onset++
	}
	s, pr, _ := liveSession(t, Config{}, nil)
	rng := rand.New(rand.NewPCG(4, 4))
	noise := func(f []int16) {
		for i := range f {
			f[i] = int16(rng.NormFloat64() * 30) // about -60 dBFS
		}
	}
	const quietFrames = 100 // 2 s
	off := 0
	sc := newScript(t, codec.PCMU, 0).pcm(quietFrames, noise).pcm((len(speech)+159)/160, func(f []int16) {
		n := copy(f, speech[min(off, len(speech)):])
		noise(f[n:])
		for i := range n {
			f[i] += int16(rng.NormFloat64() * 30)
		}
		off += len(f)
	}).pcm(75, noise)

	var (
		mu     sync.Mutex
		events []SpeechEvent
		times  []time.Time
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case e := <-s.SpeechEvents():
				mu.Lock()
				events, times = append(events, e), append(times, time.Now())
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	})
	// Enabled before the caller's first packet: the detector hears nothing until then
	// (not the playout's digital silence), so it learns the line's noise, and the
	// noise's arrival is no speech.
	if err := s.EnableVAD(vad.Config{}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	sc.play(pr, s.LocalAddr(), impairment{})
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()

	speechSent := began.Add(quietFrames*20*time.Millisecond + time.Duration(onset)*time.Second/8000)
	if len(events) == 0 || events[0].Kind != vad.SpeechStart {
		t.Fatalf("events %+v, want SpeechStart first", events)
	}
	if times[0].Before(speechSent) {
		t.Fatalf("SpeechStart %v before the speech was sent (%v): a false start on noise",
			times[0].Sub(began), speechSent.Sub(began))
	}
	if d := times[0].Sub(speechSent); d > 700*time.Millisecond {
		t.Errorf("SpeechStart %v after the speech began, want promptly", d)
	}
	if o := events[0].OnsetOffset; o < 50*time.Millisecond || o > 400*time.Millisecond {
		t.Errorf("onset offset %v", o)
	}
	var ended bool
	for _, e := range events[1:] {
		if e.Kind == vad.SpeechEnd {
			ended = true
		}
	}
	if !ended {
		t.Errorf("no SpeechEnd after the speech: %+v", events)
	}
	t.Logf("speech sent at %v; events %+v at %v", speechSent.Sub(began), events, times[0].Sub(began))
}
