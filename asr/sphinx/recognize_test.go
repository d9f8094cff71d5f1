package sphinx

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
)

// TestCards recognises Debian's recordings of real speakers naming
// playing cards with their grammar, as pocketsphinx's own test does.
func TestCards(t *testing.T) {
	b := shared(t)
	gram := readFile(t, testData+"/cards/cards.gram")
	want := map[string]string{}
	for _, line := range strings.Split(readFile(t, testData+"/cards/cards.transcription"), "\n") {
		// <s> ten of clubs  </s> (001)
		i, j := strings.Index(line, "<s>"), strings.Index(line, "</s>")
		k := strings.LastIndex(line, "(")
		if i < 0 || j < 0 || k < 0 {
			continue
		}
		want[line[k+1:k+4]] = strings.Join(strings.Fields(line[i+3:j]), " ")
	}
	for _, f := range cards(t) {
		pcm, rate := readWAV(t, f)
		res := recognize(t, b, asr.Request{Grammar: gram}, pcm, rate)
		id := strings.TrimSuffix(filepath.Base(f), ".wav")
		if res.Outcome != asr.OutcomeFinal || res.Text != want[id] {
			t.Errorf("%s: %v %q (confidence %.2f), want %q", id, res.Outcome, res.Text, res.Confidence, want[id])
			continue
		}
		if len(res.Words) != len(strings.Fields(want[id])) {
			t.Errorf("%s: words %+v", id, res.Words)
		}
		for i, w := range res.Words {
			if w.End <= w.Start || (i > 0 && w.Start < res.Words[i-1].End) || w.End > res.Audio {
				t.Errorf("%s: word timings %+v (audio %v)", id, res.Words, res.Audio)
				break
			}
		}
		t.Logf("%s: %q confidence %.2f latency %v rtf %.3f", id, res.Text, res.Confidence, res.Latency, res.RTF())
	}
}

// TestGoForwardTelephone: the pocketsphinx test recording of a real
// speaker, through G.711 μ-law at 8 kHz and upsampled by the session,
// is recognised with its grammar (TESTING.md).
func TestGoForwardTelephone(t *testing.T) {
	b := shared(t)
	pcm := telephone(t, readRaw(t, testData+"/goforward.raw"), 16000)
	res := recognize(t, b, asr.Request{Grammar: readFile(t, testData+"/goforward.gram")}, pcm, 8000)
	if res.Outcome != asr.OutcomeFinal || res.Text != "go forward ten meters" {
		t.Errorf("%v %q (%v)", res.Outcome, res.Text, res.Err)
	}
}

var menu = []string{"check my balance", "billing", "technical support", "agent"}

// TestMenuTelephone: espeak-ng speech through G.711 at 8 kHz is
// recognised in grammar mode with the menu's phrases, and grammar mode
// beats open mode on the same audio, as TESTING.md measured.
func TestMenuTelephone(t *testing.T) {
	b := shared(t)
	var grammarOK, openOK int
	for _, p := range menu {
		pcm := padded(telephone(t, speak(t, "en-us", 150, p), 22050), 8000, 500*time.Millisecond)
		g := recognize(t, b, asr.Request{Phrases: menu}, pcm, 8000)
		o := recognize(t, b, asr.Request{Mode: asr.ModeOpen}, pcm, 8000)
		t.Logf("%-18q grammar: %v %q %.2f (latency %v, rtf %.3f); open: %q %.2f (latency %v)",
			p, g.Outcome, g.Text, g.Confidence, g.Latency, g.RTF(), o.Text, o.Confidence, o.Latency)
		if g.Outcome == asr.OutcomeFinal && g.Text == p {
			grammarOK++
		} else {
			t.Errorf("grammar mode: %q heard as %v %q", p, g.Outcome, g.Text)
		}
		if o.Text == p {
			openOK++
		}
		if g.Confidence <= 0 || g.Confidence > 1 || o.Confidence < 0 || o.Confidence > 1 {
			t.Errorf("confidences %v %v", g.Confidence, o.Confidence)
		}
	}
	if grammarOK <= openOK {
		t.Errorf("grammar mode %d/%d, open mode %d/%d: grammar should win on telephone audio", grammarOK, len(menu), openOK, len(menu))
	}
}

// TestNoBogusPhrase: silence, steady noise, a burst of noise, and
// clipped speech end as no_input or no_match, or as the right phrase,
// never as a wrong phrase with high confidence, and never as an error.
func TestNoBogusPhrase(t *testing.T) {
	b := shared(t)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(d time.Duration, dbfs float64) []int16 {
		amp := 32768 * math.Pow(10, dbfs/20)
		out := make([]int16, int(d.Seconds()*8000))
		for i := range out {
			out[i] = int16(max(-32768, min(32767, rng.NormFloat64()*amp)))
		}
		return out
	}
	clipped := telephone(t, speak(t, "en-us", 150, "agent"), 22050)
	for i := range clipped {
		clipped[i] = int16(max(-32768, min(32767, int(clipped[i])*16)))
	}
	for _, tc := range []struct {
		name  string
		pcm   []int16
		right string // the phrase said, if any
	}{
		{"silence", make([]int16, 6*8000), ""},
		{"steady noise", noise(6*time.Second, -30), ""},
		{"noise burst", append(make([]int16, 8000), noise(4*time.Second, -15)...), ""},
		{"loud noise", noise(6*time.Second, -6), ""},
		{"clipped speech", padded(clipped, 8000, 500*time.Millisecond), "agent"},
	} {
		res := recognize(t, b, asr.Request{Phrases: menu, NoInputTimeout: 3 * time.Second}, tc.pcm, 8000)
		t.Logf("%s: %v %q confidence %.2f", tc.name, res.Outcome, res.Text, res.Confidence)
		switch {
		case res.Outcome == asr.OutcomeError:
			t.Errorf("%s: error %v", tc.name, res.Err)
		case res.Text != tc.right && res.Confidence >= 0.5:
			t.Errorf("%s: bogus %q with confidence %.2f", tc.name, res.Text, res.Confidence)
		case tc.right == "" && res.Outcome == asr.OutcomeFinal && res.Confidence >= 0.5:
			t.Errorf("%s: %v", tc.name, res.Outcome)
		}
	}
}

// TestMonologue: a caller who talks on is cut at MaxUtterance: the
// session stops listening after that much speech, however much more
// audio comes, and still answers.
func TestMonologue(t *testing.T) {
	b := shared(t)
	speech := telephone(t, speak(t, "en-us", 160,
		"I have been a customer for many years and I would like to tell you everything about my bill, my phone, "+
			"my internet connection, the router in the kitchen and the engineer who came last week"), 22050)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := asr.NewSession(ctx, "sphinx", b, asr.Request{Phrases: menu, MaxUtterance: 8 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sink, err := asr.NewSink(s, 8000)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const tenMinutes = 10 * 60 * 8000
	written := 0
	for written < tenMinutes {
		frame := speech[written%len(speech) : min(written%len(speech)+160, len(speech))]
		err := sink.Write(frame)
		written += len(frame)
		if errors.Is(err, asr.ErrDone) {
			break
		}
		if written%8000 == 0 {
			time.Sleep(time.Millisecond) // let the recognizer keep up, as in real time
		}
	}
	res, err := s.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heard := time.Duration(written) * time.Second / 8000
	t.Logf("%v %q truncated=%v after %v of audio, %v wall, backend got %v, dropped %d",
		res.Outcome, res.Text, res.Truncated, heard, time.Since(start), res.Audio, res.Dropped)
	if !res.Truncated || heard > 10*time.Second {
		t.Errorf("not cut at the 8 s max utterance: truncated=%v after %v", res.Truncated, heard)
	}
	if res.Outcome == asr.OutcomeError || res.Outcome == asr.OutcomeNoInput {
		t.Errorf("outcome %v (%v)", res.Outcome, res.Err)
	}
}

// TestConcurrentSessions runs six sessions at once on a pool of two
// decoders holding them for the whole utterance (partial results), so
// sessions must wait for decoders; all are recognised.
func TestConcurrentSessions(t *testing.T) {
	b := shared(t)
	before := b.Stats()
	var wg sync.WaitGroup
	results := make([]asr.Result, 6)
	for i := range results {
		pcm := padded(telephone(t, speak(t, "en-us", 150, menu[i%len(menu)]), 22050), 8000, 300*time.Millisecond)
		wg.Go(func() {
			results[i] = recognize(t, b, asr.Request{Phrases: menu, Partials: true}, pcm, 8000)
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.Outcome != asr.OutcomeFinal || r.Text != menu[i%len(menu)] {
			t.Errorf("session %d: %v %q, want %q", i, r.Outcome, r.Text, menu[i%len(menu)])
		}
	}
	after := b.Stats()
	if after.Created != 2 || after.InUse != 0 || after.Idle != 2 {
		t.Errorf("pool %+v", after)
	}
	if after.Waits == before.Waits {
		t.Errorf("no session waited for a decoder: %+v", after)
	}
}

func TestPartials(t *testing.T) {
	b := shared(t)
	pcm := padded(telephone(t, speak(t, "en-us", 130, "technical support"), 22050), 8000, 300*time.Millisecond)
	s, err := asr.NewSession(context.Background(), "sphinx", b, asr.Request{Phrases: menu, Partials: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { _, err := asr.Transcribe(context.Background(), s, pcm, 8000); done <- err }()
	var partials []string
	var final asr.Result
	for r := range s.Results() {
		if r.IsFinal {
			final = r
		} else {
			partials = append(partials, r.Text)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("partials %q, final %q", partials, final.Text)
	if len(partials) == 0 || final.Text != "technical support" {
		t.Errorf("partials %q final %v %q", partials, final.Outcome, final.Text)
	}
}

func TestClose(t *testing.T) {
	requirePackages(t)
	b, err := New(WithPoolSize(1), WithPreload(1))
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Created != 1 || st.Idle != 1 {
		t.Errorf("preloaded %+v", st)
	}
	b.Close()
	b.Close()
	if st := b.Stats(); st.Freed != 1 || st.Idle != 0 {
		t.Errorf("after Close %+v", st)
	}
	res := recognize(t, b, asr.Request{Phrases: menu}, padded(telephone(t, speak(t, "en-us", 150, "agent"), 22050), 8000, 300*time.Millisecond), 8000)
	if res.Outcome != asr.OutcomeError || !errors.Is(res.Err, errPoolClosed) {
		t.Errorf("after Close: %v %v", res.Outcome, res.Err)
	}
	if _, err := New(WithModel("/nonexistent")); err == nil || !strings.Contains(err.Error(), "pocketsphinx-en-us") {
		t.Errorf("missing model: %v", err)
	}
}

func TestResampleHelper(t *testing.T) {
	// The session's 8 kHz path and a whole-clip upsample give the same
	// answer: the streaming resampler is seamless across frames.
	b := shared(t)
	nb := padded(telephone(t, speak(t, "en-us", 150, "billing"), 22050), 8000, 300*time.Millisecond)
	wb, err := audio.Resample(nb, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	r8 := recognize(t, b, asr.Request{Phrases: menu}, nb, 8000)
	r16 := recognize(t, b, asr.Request{Phrases: menu}, wb, 16000)
	if r8.Text != "billing" || r16.Text != "billing" {
		t.Errorf("8 kHz %q, 16 kHz %q", r8.Text, r16.Text)
	}
}
