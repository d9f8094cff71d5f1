package record

import (
	"slices"
	"testing"
	"time"
)

// TestPause checks both pause modes: the file content, the Pause entries
// and the no-op cases.
func TestPause(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, mode := range []PauseMode{PauseSilence, PauseSkip} {
		t.Run(mode.String(), func(t *testing.T) {
			clk := &stepClock{t: t0}
			f := &memFile{}
			r, err := New(f, 16000, WithPauseMode(mode), WithClock(clk.now))
			if err != nil {
				t.Fatal(err)
			}
			frame := make([]int16, 320)
			feed := func(frames int, v int16) {
				for range frames {
					for i := range frame {
						frame[i] = v
					}
					r.WriteStereo(frame, frame)
					clk.advance(20 * time.Millisecond)
				}
			}
			r.Resume() // not paused: nothing
			feed(10, 1)
			r.Pause()
			r.Pause() // already paused: nothing
			feed(5, 2)
			r.Resume()
			feed(5, 3)
			r.Pause() // still paused at Close
			feed(3, 4)
			info, err := r.Close()
			if err != nil {
				t.Fatal(err)
			}
			r.Pause() // closed: nothing
			r.Resume()

			ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
			at := func(n int) time.Time { return t0.Add(ms(n)) }
			want := []Pause{
				{Start: at(200), End: at(300), Offset: ms(200), Length: ms(100)},
				{Start: at(400), End: at(460), Offset: ms(400), Length: ms(60)},
			}
			wantLeft := slices.Concat(slices.Repeat([]int16{1}, 10*320), slices.Repeat([]int16{0}, 5*320),
				slices.Repeat([]int16{3}, 5*320), slices.Repeat([]int16{0}, 3*320))
			if mode == PauseSkip {
				want[1].Offset = ms(300)
				wantLeft = slices.Concat(slices.Repeat([]int16{1}, 10*320), slices.Repeat([]int16{3}, 5*320))
			}
			if !slices.Equal(info.Pauses, want) {
				t.Errorf("Pauses = %+v\nwant %+v", info.Pauses, want)
			}
			if got := channel(parseWAV(t, f.bytes()).samples, 2, 0); !slices.Equal(got, wantLeft) {
				t.Errorf("file holds %d samples, want %d (paused audio must not be recorded)", len(got), len(wantLeft))
			}
			if info.Duration != time.Duration(len(wantLeft))*time.Second/16000 {
				t.Errorf("Duration %v for %d samples", info.Duration, len(wantLeft))
			}
			info.Pauses[0].Length = 0 // the caller's copy, not the recorder's
			if again, _ := r.Close(); again.Pauses[0].Length != ms(100) {
				t.Error("Info.Pauses shares memory with the recorder")
			}
		})
	}
}

// TestPauseKeepsHeaderGrowing: during a long PauseSilence the silence is
// queued like audio, so the header keeps being rewritten and a crash in the
// middle of the pause still leaves a file that covers it.
func TestPauseKeepsHeaderGrowing(t *testing.T) {
	f := &memFile{}
	r, err := New(f, 8000, WithHeaderInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	r.WriteStereo(frame, frame)
	r.Pause()
	for range 25 { // 500 ms
		r.WriteStereo(frame, frame)
	}
	waitIdle(t, r)
	if got := f.headerSizes(); len(got) < 4 || got[len(got)-1] < 4*3200 {
		t.Errorf("header rewrites during the pause at %v, want one per 100 ms (3200 bytes)", got)
	}
	if info, err := r.Close(); err != nil || info.Duration != 520*time.Millisecond {
		t.Errorf("Close: %v, %v; want 520 ms", info.Duration, err)
	}
}
