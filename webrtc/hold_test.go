package webrtc

import (
	"sync/atomic"
	"testing"

	"github.com/hotline-ivr/hotline/media/bridge"
)

// frameSink keeps the last frame it was given.
type frameSink struct{ last []int16 }

func (s *frameSink) WriteAudio(pcm []int16) { s.last = append(s.last[:0], pcm...) }

// countingSource plays a constant and counts its reads.
type countingSource struct {
	v     int16
	reads int
}

func (c *countingSource) Read(frame []int16) (int, error) {
	c.reads++
	for i := range frame {
		frame[i] = c.v
	}
	return len(frame), nil
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	if len(pcm) == 0 {
		return 0
	}
	return sum / float64(len(pcm))
}

// TestHoldSinkAndSource: while held, the caller's side of the bridge gets music
// instead of the agent's audio and the agent gets silence instead of the caller's;
// unheld, both pass untouched; neither allocates per frame.
func TestHoldSinkAndSource(t *testing.T) {
	music, err := bridge.NewMusic("")
	if err != nil {
		t.Fatal(err)
	}
	loop, err := music.Source(48000)
	if err != nil {
		t.Fatal(err)
	}
	var held atomic.Bool
	out := &frameSink{}
	sink := &holdSink{next: out, held: &held, music: loop}
	src := &holdSource{src: &countingSource{v: 1000}, held: &held}
	agent := make([]int16, 960)
	for i := range agent {
		agent[i] = 7
	}
	frame := make([]int16, 960)

	sink.WriteAudio(agent)
	if out.last[0] != 7 || out.last[959] != 7 {
		t.Errorf("unheld: the agent's audio did not pass: %v…", out.last[:4])
	}
	if n, _ := src.Read(frame); n != 960 || frame[0] != 1000 {
		t.Errorf("unheld: the caller's audio did not pass: %d %v…", n, frame[:4])
	}

	held.Store(true)
	sink.WriteAudio(agent)
	if r := rms(out.last); r < 100 || out.last[0] == 7 && out.last[500] == 7 {
		t.Errorf("held: the caller's side got mean square %v (%v…), want the music", r, out.last[:4])
	}
	if agent[0] != 7 {
		t.Error("held: the agent's frame was modified (sinks share it)")
	}
	if n, _ := src.Read(frame); n != 960 || rms(frame) != 0 {
		t.Errorf("held: the agent heard the caller (%d samples, mean square %v)", n, rms(frame))
	}
	if src.src.(*countingSource).reads != 2 {
		t.Errorf("held: the caller's audio was read %d times, want 2: it must be drained while held", src.src.(*countingSource).reads)
	}

	if a := testing.AllocsPerRun(100, func() { sink.WriteAudio(agent); _, _ = src.Read(frame) }); a != 0 {
		t.Errorf("%v allocations per held frame, want 0", a)
	}
	held.Store(false)
	sink.WriteAudio(agent)
	if out.last[0] != 7 {
		t.Error("unhold: the agent's audio did not come back")
	}
	if a := testing.AllocsPerRun(100, func() { sink.WriteAudio(agent); _, _ = src.Read(frame) }); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
}
