package bridge

import (
	"testing"
)

// BenchmarkPipe measures one bridge direction per 20 ms frame: the speaker's Sink
// (resample, ring write) and the listener's Source (ring read). 0 allocs/op is
// required: the bridge runs on the media clock shared by every call.
func BenchmarkPipe(b *testing.B) {
	for _, tc := range []struct {
		name     string
		from, to int
	}{
		{"8k-8k", 8000, 8000}, {"8k-16k", 8000, 16000}, {"16k-8k", 16000, 8000},
		{"8k-48k", 8000, 48000}, {"48k-8k", 48000, 8000}, {"48k-16k", 48000, 16000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := newPipe(&fakeSession{tc.from}, &fakeSession{tc.to})
			in := make([]int16, tc.from/50)
			out := make([]int16, tc.to/50)
			(&toneSource{w: 0.3}).Read(in)
			p.WriteAudio(in) // first frame builds the resampler
			p.Read(out)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				p.WriteAudio(in)
				p.Read(out)
			}
		})
	}
}

// TestPipeDoesNotAllocate keeps the 0-allocation promise checked in every test run.
func TestPipeDoesNotAllocate(t *testing.T) {
	p := newPipe(&fakeSession{8000}, &fakeSession{48000})
	in, out := make([]int16, 160), make([]int16, 960)
	p.WriteAudio(in)
	p.Read(out)
	if a := testing.AllocsPerRun(200, func() { p.WriteAudio(in); p.Read(out) }); a != 0 {
		t.Errorf("%.1f allocs per frame", a)
	}
}
