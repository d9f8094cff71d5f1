package record

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClose races WriteStereo, Pause/Resume and three Close calls
// (run with -race): every Close returns the same Info, the file is valid,
// and no goroutine is left.
func TestConcurrentClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for iter := range 20 {
		f := &memFile{}
		r, err := New(f, 8000, WithQueue(40*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			frame := make([]int16, 160)
			for {
				select {
				case <-stop:
					return
				default:
					// Far faster than the 20 ms media clock, but not a
					// spin: every dropped frame becomes silence in the file.
					r.WriteStereo(frame, frame)
					time.Sleep(50 * time.Microsecond)
				}
			}
		})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					r.Pause()
					r.Resume()
					time.Sleep(200 * time.Microsecond)
				}
			}
		})
		time.Sleep(time.Duration(iter%5) * time.Millisecond)
		infos := make([]Info, 3)
		var cw sync.WaitGroup
		for i := range infos {
			cw.Go(func() {
				var err error
				if infos[i], err = r.Close(); err != nil {
					t.Error(err)
				}
			})
		}
		cw.Wait()
		close(stop)
		wg.Wait()
		for _, in := range infos[1:] {
			if !infoEqual(in, infos[0]) {
				t.Fatalf("Close results differ: %+v vs %+v", in, infos[0])
			}
		}
		w := parseWAV(t, f.bytes())
		if got := int64(len(w.samples)) * 2; got+44 != infos[0].Bytes {
			t.Errorf("file holds %d data bytes, Info says %d bytes in all", got, infos[0].Bytes)
		}
	}
	checkNoLeak(t, before)
}

// TestDiskError returns the disk's error from Close, keeps WriteStereo
// non-blocking afterwards and leaves a header for what reached the file.
func TestDiskError(t *testing.T) {
	f := &memFile{failAfter: 44 + 10000}
	r, err := New(f, 8000, WithHeaderInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	for range 100 {
		r.WriteStereo(frame, frame)
	}
	info, err := r.Close()
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Close error %v, want the disk's error", err)
	}
	w := parseWAV(t, f.bytes())
	if w.dataSize != 10000 || info.Bytes != 44+10000 || info.Duration != 10000*time.Second/32000 {
		t.Errorf("header says %d bytes, Info %+v; want what reached the file (10000)", w.dataSize, info)
	}
	if _, again := r.Close(); !errors.Is(again, errDiskFull) {
		t.Errorf("second Close returned %v", again)
	}
}

// TestTruncated stops at the RIFF size limit (lowered for the test).
func TestTruncated(t *testing.T) {
	f := &memFile{}
	r, err := New(f, 8000, func(c *config) { c.maxData = 1000 })
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	for range 5 {
		r.WriteStereo(frame, frame)
	}
	info, err := r.Close()
	if err != nil || !info.Truncated || info.Bytes != 44+1000 {
		t.Fatalf("Close: %+v, %v; want 1000 data bytes, truncated", info, err)
	}
	if parseWAV(t, f.bytes()).dataSize != 1000 {
		t.Error("header does not describe the truncated data")
	}
}
