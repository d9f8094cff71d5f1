package record

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchRecorder builds a recorder without its writer goroutine, so each
// side of the queue is measured on its own.
func benchRecorder(b *testing.B, f File, rate int, opts ...Option) *Recorder {
	b.Helper()
	cfg, err := newConfig(rate, opts)
	if err != nil {
		b.Fatal(err)
	}
	r, err := newRecorder(f, "", rate, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// emptyQueue frees the queue as an infinitely fast writer would.
func emptyQueue(r *Recorder) {
	r.mu.Lock()
	r.dhead, r.dcount, r.ringUsed = 0, 0, 0
	r.mu.Unlock()
}

// BenchmarkWriteStereo measures what the media clock pays per 20 ms frame:
// encoding into the ring and queueing. The queue is emptied whenever it is
// full (amortized over its 100 frames), so no frame is dropped.
func BenchmarkWriteStereo(b *testing.B) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, mono := range []bool{false, true} {
			layout, opts := "stereo", []Option(nil)
			if mono {
				layout, opts = "mono", []Option{WithMono()}
			}
			b.Run(fmt.Sprintf("%dHz/%s", rate, layout), func(b *testing.B) {
				r := benchRecorder(b, discardFile{}, rate, opts...)
				caller, engine := make([]int16, rate/50), make([]int16, rate/50)
				pattern(caller, 0, 0)
				pattern(engine, 0, 1)
				b.ReportAllocs()
				b.SetBytes(int64(len(caller) * 4))
				for b.Loop() {
					if r.dcount == len(r.descs) || r.ringUsed+len(caller)*r.block > len(r.ring) {
						emptyQueue(r)
					}
					r.WriteStereo(caller, engine)
				}
				if r.dropped != 0 {
					b.Fatalf("%d frames dropped", r.dropped)
				}
			})
		}
	}
}

// BenchmarkWriteStereoFull measures a frame dropped because the queue is
// full: the cost when the disk has fallen behind.
func BenchmarkWriteStereoFull(b *testing.B) {
	r := benchRecorder(b, discardFile{}, 8000)
	frame := make([]int16, 160)
	for r.dropped == 0 {
		r.WriteStereo(frame, frame)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.WriteStereo(frame, frame)
	}
}

// BenchmarkDrain measures the writer's work per queued 20 ms frame: the
// copy into the bufio.Writer and its share of the write(2) calls (to a
// discarding file: this is the CPU cost, not the disk's).
func BenchmarkDrain(b *testing.B) {
	for _, rate := range []int{8000, 48000} {
		b.Run(fmt.Sprintf("%dHz", rate), func(b *testing.B) {
			r := benchRecorder(b, discardFile{}, rate, WithHeaderInterval(time.Hour))
			frame := make([]int16, rate/50)
			frames := len(r.ring) / (len(frame) * r.block) // what one drain writes
			b.ReportAllocs()
			b.SetBytes(int64(frames * len(frame) * r.block))
			for b.Loop() {
				// Requeue the whole ring as frames (its content does not
				// matter here); this costs ~1 ns per frame, not a WriteStereo.
				r.mu.Lock()
				for i := range frames {
					r.descs[i] = desc{bytes: len(frame) * r.block}
				}
				r.dhead, r.dcount, r.ringUsed, r.w.rpos = 0, frames, frames*len(frame)*r.block, 0
				r.mu.Unlock()
				r.w.data = 0 // stay clear of the 4 GiB RIFF limit
				r.drain()
			}
			if r.dropped != 0 {
				b.Fatalf("%d frames dropped", r.dropped)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
		})
	}
}

// BenchmarkCheckpoint measures one header rewrite on a real file in the
// temporary directory: flush, header pwrite, and with SyncCheckpoint the
// fsync, which is what that policy costs per call per interval.
func BenchmarkCheckpoint(b *testing.B) {
	for _, p := range []SyncPolicy{SyncNever, SyncCheckpoint} {
		b.Run(p.String(), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "c.wav"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			r := benchRecorder(b, f, 8000, WithSync(p), WithHeaderInterval(time.Hour))
			frame := make([]byte, 640)
			b.ReportAllocs()
			for b.Loop() {
				r.w.write(frame) // 20 ms of audio, then a rewrite
				r.checkpoint()
			}
			if r.w.err != nil {
				b.Fatal(r.w.err)
			}
		})
	}
}
