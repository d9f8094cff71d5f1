package sphinx

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
)

// TestNoLeaks runs 200 sessions of every kind (recognised, no input,
// cancelled mid-utterance, with partial results) and checks that no
// goroutine, decoder or C memory is left behind.
func TestNoLeaks(t *testing.T) {
	b := shared(t)
	speech := padded(telephone(t, speak(t, "en-us", 190, "agent"), 22050), 8000, 300*time.Millisecond)
	quiet := make([]int16, 8000)
	session := func(i int) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req := asr.Request{Phrases: menu, NoInputTimeout: 500 * time.Millisecond, Partials: i%4 == 3}
		s, err := asr.NewSession(ctx, "sphinx", b, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		switch i % 4 {
		case 0, 3:
			res, err := asr.Transcribe(ctx, s, speech, 8000)
			if err != nil || res.Text != "agent" {
				t.Errorf("session %d: %v %q %v", i, res.Outcome, res.Text, err)
			}
		case 1:
			if res, _ := asr.Transcribe(ctx, s, quiet, 8000); res.Outcome != asr.OutcomeNoInput {
				t.Errorf("session %d: %v", i, res.Outcome)
			}
		case 2:
			sink, _ := asr.NewSink(s, 8000)
			_ = sink.Write(speech[:len(speech)*2/3])
			cancel()
			if res, _ := s.Wait(context.Background()); res.Outcome != asr.OutcomeCancelled {
				t.Errorf("session %d: %v", i, res.Outcome)
			}
		}
	}
	for i := range 20 { // warm up: buffers, the Go and C heaps
		session(i)
	}
	runtime.GC()
	goroutines := runtime.NumGoroutine()
	heap := cMallocInUse()
	for i := range 200 {
		session(i)
	}
	runtime.GC()
	if n := settleGoroutines(goroutines); n > goroutines {
		t.Errorf("goroutines: %d before, %d after 200 sessions", goroutines, n)
	}
	st := b.Stats()
	if st.InUse != 0 || st.Idle != st.Created-st.Freed || st.Created > st.Size || st.Freed != 0 {
		t.Errorf("pool after 200 sessions: %+v", st)
	}
	grown := int64(cMallocInUse()) - int64(heap)
	t.Logf("C heap in use: %d bytes before, %+d after 200 sessions; pool %+v", heap, grown, st)
	// ps_set_jsgf_string alone would lose 8 kB per session, a search
	// left behind over 100 kB.
	if grown > 64<<10 {
		t.Errorf("C heap grew by %d bytes over 200 sessions", grown)
	}
}

// TestGrammarCacheNoLeak cycles a decoder through more grammars than its
// cache holds, each decoded once as a session would: once the cache is
// full of used searches, replacing them costs no memory.
func TestGrammarCacheNoLeak(t *testing.T) {
	b := shared(t)
	nb := padded(telephone(t, speak(t, "en-us", 190, "agent"), 22050), 8000, 300*time.Millisecond)
	pcm, err := audio.Resample(nb, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.pool.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.pool.release(d, false)
	var grammars []string
	for i := range 2 * grammarSlots {
		g, err := b.JSGF(append(slices.Clip(menu), press(i)))
		if err != nil {
			t.Fatal(err)
		}
		grammars = append(grammars, g)
	}
	cycle := func() {
		for _, g := range grammars {
			id, err := d.useGrammar(g)
			if err != nil {
				t.Fatal(err)
			}
			if h, err := d.decode(pcm, id); err != nil || h.text != "agent" {
				t.Fatalf("%q %v", h.text, err)
			}
		}
	}
	cycle()
	cycle()
	heap := cMallocInUse()
	cycle()
	grown := int64(cMallocInUse()) - int64(heap)
	t.Logf("C heap %+d bytes over %d grammar replacements", grown, len(grammars))
	if grown > 64<<10 {
		t.Errorf("C heap grew by %d bytes over %d grammar replacements", grown, len(grammars))
	}
}

// press returns a distinct phrase for each i, all of the same length
// ("press four hundred thirty two"), so grammars replacing each other in
// a decoder's cache take the same memory.
func press(i int) string {
	return "press " + strconv.Itoa((i%9+1)*100+((i/9)%8+2)*10+(i/72)%9+1)
}
