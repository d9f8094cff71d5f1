package record

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// TestExactSamples feeds 20 ms frames and reads back every sample of both
// channels, the header fields, ReadWAV's downmix and soxi's view.
func TestExactSamples(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, mono := range []bool{false, true} {
			name := fmt.Sprintf("%d/stereo", rate)
			if mono {
				name = fmt.Sprintf("%d/mono", rate)
			}
			t.Run(name, func(t *testing.T) {
				var opts []Option
				if mono {
					opts = append(opts, WithMono())
				}
				path := filepath.Join(t.TempDir(), "call.wav")
				r, err := Create(path, rate, append(opts, WithQueue(10*time.Second))...) // fed faster than real time
				if err != nil {
					t.Fatal(err)
				}
				const frames = 137 // 2.74 s: crosses one header rewrite
				n := rate / 50
				caller, engine := make([]int16, n), make([]int16, n)
				for f := range frames {
					pattern(caller, f*n, 0)
					pattern(engine, f*n, 1)
					r.WriteStereo(caller, engine)
				}
				info, err := r.Close()
				if err != nil {
					t.Fatal(err)
				}
				channels := 2
				if mono {
					channels = 1
				}
				total := frames * n
				want := Info{Path: path, Rate: rate, Channels: channels, Duration: frames * 20 * time.Millisecond,
					Bytes: int64(44 + total*channels*2)}
				if !infoEqual(info, want) {
					t.Errorf("Info = %+v, want %+v", info, want)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				w := parseWAV(t, b)
				if w.rate != rate || w.channels != channels || int(w.dataSize) != total*channels*2 || w.trailing != 0 {
					t.Fatalf("header: %d Hz, %d channels, %d data bytes, %d trailing; want %d Hz, %d, %d, 0",
						w.rate, w.channels, w.dataSize, w.trailing, rate, channels, total*channels*2)
				}
				wantL, wantR := make([]int16, total), make([]int16, total)
				pattern(wantL, 0, 0)
				pattern(wantR, 0, 1)
				if mono {
					mix := make([]int16, total)
					for i := range mix {
						mix[i] = int16(min(max(int32(wantL[i])+int32(wantR[i]), -32768), 32767))
					}
					if !slices.Equal(w.samples, mix) {
						t.Errorf("mono samples differ from the saturated sum (first %v)", w.samples[:4])
					}
				} else {
					if got := channel(w.samples, 2, 0); !slices.Equal(got, wantL) {
						t.Errorf("left channel is not the caller (first %v, want %v)", got[:4], wantL[:4])
					}
					if got := channel(w.samples, 2, 1); !slices.Equal(got, wantR) {
						t.Errorf("right channel is not the engine (first %v, want %v)", got[:4], wantR[:4])
					}
				}

				pcm, gotRate, err := audio.ReadWAV(bytes.NewReader(b))
				if err != nil || gotRate != rate || len(pcm) != total {
					t.Fatalf("ReadWAV: %d samples at %d Hz, %v; want %d at %d", len(pcm), gotRate, err, total, rate)
				}
				if !mono && pcm[1] != int16((int32(wantL[1])+int32(wantR[1])+1)>>1) {
					t.Errorf("ReadWAV downmix %d, want the rounded mean of %d and %d", pcm[1], wantL[1], wantR[1])
				}
				if c, sr, s := soxInfo(t, path); c != channels || sr != rate || s != total {
					t.Errorf("soxi: %d channels, %d Hz, %d samples; want %d, %d, %d", c, sr, s, channels, rate, total)
				}
			})
		}
	}
}

func infoEqual(a, b Info) bool {
	return a.Path == b.Path && a.Rate == b.Rate && a.Channels == b.Channels && a.Duration == b.Duration &&
		a.Bytes == b.Bytes && a.Dropped == b.Dropped && a.Truncated == b.Truncated && len(a.Pauses) == len(b.Pauses)
}

// TestUnevenFrames pads the shorter side with silence instead of dropping
// the longer side's samples, and mono saturates instead of wrapping.
func TestUnevenFrames(t *testing.T) {
	f := &memFile{}
	r, err := New(f, 8000)
	if err != nil {
		t.Fatal(err)
	}
	r.WriteStereo([]int16{1, 2, 3}, []int16{-1})
	r.WriteStereo(nil, []int16{9, 8})
	r.WriteStereo(nil, nil) // nothing: no samples
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	w := parseWAV(t, f.bytes())
	if want := []int16{1, -1, 2, 0, 3, 0, 0, 9, 0, 8}; !slices.Equal(w.samples, want) {
		t.Errorf("samples %v, want %v", w.samples, want)
	}

	f = &memFile{}
	r, _ = New(f, 8000, WithMono())
	r.WriteStereo([]int16{30000, -30000, 5}, []int16{10000, -10000, -7})
	r.Close()
	if got, want := parseWAV(t, f.bytes()).samples, []int16{32767, -32768, -2}; !slices.Equal(got, want) {
		t.Errorf("mono mix %v, want %v", got, want)
	}
}

// TestHeaderCadence checks that the header is rewritten exactly every
// interval of audio with the size flushed so far, and exactly at Close.
func TestHeaderCadence(t *testing.T) {
	for _, tc := range []struct {
		rate     int
		interval time.Duration
		frames   int
	}{
		{8000, DefaultHeaderInterval, 525},   // 10.5 s
		{16000, 500 * time.Millisecond, 130}, // 2.6 s
	} {
		t.Run(fmt.Sprintf("%d/%v", tc.rate, tc.interval), func(t *testing.T) {
			f := &memFile{}
			opts := []Option{WithQueue(time.Minute)} // no drops: this is about the header
			if tc.interval != DefaultHeaderInterval {
				opts = append(opts, WithHeaderInterval(tc.interval))
			}
			r, err := New(f, tc.rate, opts...)
			if err != nil {
				t.Fatal(err)
			}
			n := tc.rate / 50
			frame := make([]int16, n)
			var want []uint32
			every := uint32(tc.interval.Seconds() * float64(tc.rate) * 4)
			for i := 1; i <= tc.frames; i++ {
				r.WriteStereo(frame, frame)
				if uint32(i*n*4)%every == 0 {
					want = append(want, uint32(i*n*4))
				}
			}
			waitIdle(t, r)
			if got := f.headerSizes(); !slices.Equal(got, want) {
				t.Errorf("header rewrites before Close at %v, want %v", got, want)
			}
			if _, err := r.Close(); err != nil {
				t.Fatal(err)
			}
			want = append(want, uint32(tc.frames*n*4))
			if got := f.headerSizes(); !slices.Equal(got, want) {
				t.Errorf("header rewrites %v, want %v", got, want)
			}
			if f.syncs != 1 {
				t.Errorf("%d fsyncs with SyncClose, want 1", f.syncs)
			}
		})
	}
}

// TestSyncPolicies counts fsyncs per policy.
func TestSyncPolicies(t *testing.T) {
	for _, tc := range []struct {
		p    SyncPolicy
		want int
	}{{SyncNever, 0}, {SyncClose, 1}, {SyncCheckpoint, 3 + 1}} {
		f := &memFile{}
		r, err := New(f, 8000, WithSync(tc.p), WithHeaderInterval(100*time.Millisecond), WithQueue(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]int16, 160)
		for range 17 { // 340 ms: three checkpoints
			r.WriteStereo(frame, frame)
		}
		r.Close()
		if f.syncs != tc.want {
			t.Errorf("%v: %d fsyncs, want %d", tc.p, f.syncs, tc.want)
		}
	}
}

// TestSlowWriterDrops feeds frames on a real 20 ms clock into a disk that
// stalls 100 ms per write: WriteStereo must never wait for it, the dropped
// frames are counted and become silence, and the file is exactly as long as
// the wall time fed.
func TestSlowWriterDrops(t *testing.T) {
	f := &memFile{delay: 100 * time.Millisecond}
	smallBuffer := func(c *config) { c.bufSize = 4096 } // a write(2) every 128 ms of audio
	r, err := New(f, 8000, WithQueue(60*time.Millisecond), smallBuffer)
	if err != nil {
		t.Fatal(err)
	}
	const n = 160
	caller, engine := make([]int16, n), make([]int16, n)
	var worst time.Duration
	sent := 0
	start := time.Now()
	// Emit every frame that is due, like the media clock: a late wake-up
	// catches up, so the frames fed follow the wall clock.
	emit := func() time.Duration {
		now := time.Since(start)
		for due := int(now / (20 * time.Millisecond)); sent < due; sent++ {
			for i := range caller {
				caller[i], engine[i] = int16(sent+1), int16(-sent-1)
			}
			t0 := time.Now()
			r.WriteStereo(caller, engine)
			worst = max(worst, time.Since(t0))
		}
		return now
	}
	tick := time.NewTicker(20 * time.Millisecond)
	for time.Since(start) < time.Second {
		<-tick.C
		emit()
	}
	tick.Stop()
	elapsed := emit()
	info, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames in %v, %d dropped, slowest WriteStereo %v", sent, elapsed, info.Dropped, worst)
	if worst > 10*time.Millisecond {
		t.Errorf("WriteStereo took %v with a stalled disk; it must not wait for the writer", worst)
	}
	if info.Dropped == 0 {
		t.Error("no frame dropped although the disk stalls 100 ms per write and the queue holds 60 ms")
	}
	if want := time.Duration(sent) * 20 * time.Millisecond; info.Duration != want {
		t.Errorf("file holds %v for %d frames (%v)", info.Duration, sent, want)
	}
	if d := elapsed - info.Duration; d < 0 || d >= 20*time.Millisecond {
		t.Errorf("file holds %v after %v of wall time", info.Duration, elapsed)
	}
	w := parseWAV(t, f.bytes())
	left, right := channel(w.samples, 2, 0), channel(w.samples, 2, 1)
	var silent int64
	for k := range sent {
		l, rt := left[k*n:(k+1)*n], right[k*n:(k+1)*n]
		switch {
		case l[0] == 0 && rt[0] == 0:
			silent++
		case l[0] != int16(k+1) || rt[0] != int16(-k-1):
			t.Fatalf("frame %d holds %d/%d: audio after a drop is out of place", k, l[0], rt[0])
		}
		for i := range l {
			if l[i] != l[0] || rt[i] != rt[0] {
				t.Fatalf("frame %d is torn at sample %d", k, i)
			}
		}
	}
	if silent != info.Dropped {
		t.Errorf("%d silent frames in the file, %d reported dropped", silent, info.Dropped)
	}
}

// TestCreate checks modes, directory creation and that an existing
// recording is never overwritten.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "a84b4c76e66710@pc33.example.com", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r, err := Create(path, 8000, WithSync(SyncCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); got != "record("+path+", 8000 Hz stereo)" {
		t.Errorf("String() = %q", got)
	}
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m&^0o640 != 0 {
		t.Errorf("file mode %v, want at most 0640", m)
	}
	for d := filepath.Dir(path); d != dir; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m&^0o750 != 0 {
			t.Errorf("directory %s mode %v, want at most 0750", d, m)
		}
	}
	before, _ := os.ReadFile(path)
	if _, err := Create(path, 8000); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) || len(after) != 44 {
		t.Error("second Create touched the existing recording")
	}
}

// TestInvalid reports every problem at once, before touching the disk.
func TestInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x", "y.wav")
	_, err := Create(path, 96000, WithPauseMode(PauseUnknown), WithSync(SyncUnknown),
		WithHeaderInterval(0), WithQueue(time.Millisecond), WithClock(nil))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, s := range []string{"96000", "pause mode", "sync policy", "header interval", "queue", "clock"} {
		if !bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an invalid Create made directories")
	}
	if _, err := New(nil, 8000); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(nil) = %v", err)
	}
}

// TestZeroAllocs proves WriteStereo allocates nothing, whether the frame is
// queued, dropped or paused (the writer goroutine's allocations would count
// too: AllocsPerRun reads the global counter).
func TestZeroAllocs(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		r, err := New(discardFile{}, rate)
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]int16, rate/50)
		r.WriteStereo(frame, frame) // first wake-up
		if a := testing.AllocsPerRun(2000, func() { r.WriteStereo(frame, frame) }); a != 0 {
			t.Errorf("%d Hz: %v allocs per WriteStereo", rate, a)
		}
		r.Pause()
		if a := testing.AllocsPerRun(200, func() { r.WriteStereo(frame, frame) }); a != 0 {
			t.Errorf("%d Hz paused: %v allocs per WriteStereo", rate, a)
		}
		r.Close()
	}
}
