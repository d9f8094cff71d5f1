package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
)

// TestMixer: three legs (PCMU, G.722, Opus) talking, each far end hears the other
// two's tones; a listener hears all three and is heard by none; removing a party
// stops its tone reaching the others.
func TestMixer(t *testing.T) {
	eng := newEngine(t)
	m := NewMixer()
	defer m.Close()
	freqs := []float64{500, 1100, 1700}
	var fars []*farEnd
	for i, name := range []string{"PCMU", "G722", "opus"} {
		c := testCodecs[name]
		near, far := newLeg(t, eng, c.c, c.pt)
		if _, err := m.Add(near, RoleTalk); err != nil {
			t.Fatal(err)
		}
		fe := &farEnd{rec: &recorder{}, rate: far.SampleRate()}
		t.Cleanup(far.AddSink(fe.rec))
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go playTone(ctx, far, freqs[i])
		fars = append(fars, fe)
	}
	lnear, lfar := newLeg(t, eng, codec.PCMU, 0)
	removeListener, err := m.Add(lnear, RoleListen)
	if err != nil {
		t.Fatal(err)
	}
	lrec := &recorder{}
	t.Cleanup(lfar.AddSink(lrec))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go playTone(ctx, lfar, 2500) // the listener's voice must reach no one

	settle(400 * time.Millisecond)
	for _, f := range fars {
		f.rec.take()
	}
	lrec.take()
	// Each party must hear the others within a few windows: on a machine busy with
	// other tests the legs' packets come late, concealment fills in, and one window
	// can hold more of that than of the tones. Hearing what it must not (itself, the
	// listener) fails at once.
	var missing []string
	for try := 0; try < 5; try++ {
		settle(600 * time.Millisecond)
		missing = missing[:0]
		for i, f := range fars {
			heard := f.rec.take()
			for j, fr := range freqs {
				lvl := toneLevel(heard, f.rate, fr)
				if i != j && lvl < 0.1 {
					missing = append(missing, fmt.Sprintf("party %d does not hear party %d (%.0f Hz): %.2f", i, j, fr, lvl))
				}
				if i == j && lvl > 0.05 {
					t.Errorf("party %d hears itself: %.2f", i, lvl)
				}
			}
			if lvl := toneLevel(heard, f.rate, 2500); lvl > 0.05 {
				t.Errorf("party %d hears the listener: %.2f", i, lvl)
			}
		}
		heard := lrec.take()
		for j, fr := range freqs {
			if lvl := toneLevel(heard, 8000, fr); lvl < 0.1 {
				missing = append(missing, fmt.Sprintf("listener does not hear party %d: %.2f", j, lvl))
			}
		}
		if len(missing) == 0 || t.Failed() {
			break
		}
	}
	for _, m := range missing {
		t.Error(m)
	}
	removeListener()
	removeListener()
	if n := m.Parties(); n != 3 {
		t.Errorf("%d parties after removing the listener", n)
	}
}

type farEnd struct {
	rec  *recorder
	rate int
}

// TestMixerWhisper: a whisperer (a supervisor coaching an agent) hears both the
// caller and the agent; the agent hears the whisperer; the caller does not.
func TestMixerWhisper(t *testing.T) {
	eng := newEngine(t)
	m := NewMixer()
	defer m.Close()
	callerNear, callerFar := newLeg(t, eng, codec.PCMU, 0)
	agentNear, agentFar := newLeg(t, eng, codec.PCMU, 0)
	supNear, supFar := newLeg(t, eng, codec.PCMU, 0)
	// The whisperer joins first and names the agent, who joins later: the pipe is
	// made either way round.
	if _, err := m.AddWhisper(supNear, agentNear); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*media.Session{callerNear, agentNear} {
		if _, err := m.Add(s, RoleTalk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddWhisper(supNear, supNear); err == nil {
		t.Error("a whisper to oneself was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go playTone(ctx, callerFar, 500)
	go playTone(ctx, agentFar, 1100)
	go playTone(ctx, supFar, 1700)
	recs := map[string]*recorder{"caller": {}, "agent": {}, "supervisor": {}}
	t.Cleanup(callerFar.AddSink(recs["caller"]))
	t.Cleanup(agentFar.AddSink(recs["agent"]))
	t.Cleanup(supFar.AddSink(recs["supervisor"]))
	settle(400 * time.Millisecond)
	for _, r := range recs {
		r.take()
	}
	settle(600 * time.Millisecond)
	heard := map[string][]int16{}
	for k, r := range recs {
		heard[k] = r.take()
	}
	check := func(who string, freq float64, want bool) {
		t.Helper()
		lvl := toneLevel(heard[who], 8000, freq)
		if want && lvl < 0.1 {
			t.Errorf("%s does not hear %.0f Hz: %.2f", who, freq, lvl)
		}
		if !want && lvl > 0.05 {
			t.Errorf("%s hears %.0f Hz: %.2f", who, freq, lvl)
		}
	}
	check("caller", 1100, true)     // the agent
	check("caller", 1700, false)    // not the supervisor
	check("agent", 500, true)       // the caller
	check("agent", 1700, true)      // the supervisor's whisper
	check("supervisor", 500, true)  // the caller
	check("supervisor", 1100, true) // the agent
}
