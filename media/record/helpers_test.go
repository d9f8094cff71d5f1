package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memFile is an in-memory File that records header rewrites and can be
// slowed down or made to fail.
type memFile struct {
	mu        sync.Mutex
	buf       []byte
	pos       int
	headers   []uint32 // data size of every WriteAt at offset 0
	syncs     int
	closed    bool
	delay     time.Duration // slept in every Write, outside the lock
	failAfter int           // Write fails once the file would exceed this many bytes; 0: never
	writes    int
}

var errDiskFull = errors.New("disk full (injected)")

func (f *memFile) Write(p []byte) (int, error) {
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.closed {
		return 0, os.ErrClosed
	}
	var err error
	if f.failAfter > 0 && f.pos+len(p) > f.failAfter {
		p = p[:max(f.failAfter-f.pos, 0)]
		err = errDiskFull
	}
	f.writeAt(p, f.pos)
	f.pos += len(p)
	return len(p), err
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, os.ErrClosed
	}
	if off == 0 && len(p) >= 44 {
		f.headers = append(f.headers, binary.LittleEndian.Uint32(p[40:44]))
	}
	f.writeAt(p, int(off))
	return len(p), nil
}

func (f *memFile) writeAt(p []byte, off int) {
	if end := off + len(p); end > len(f.buf) {
		f.buf = append(f.buf, make([]byte, end-len(f.buf))...)
	}
	copy(f.buf[off:], p)
}

func (f *memFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	return nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *memFile) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.buf)
}

func (f *memFile) headerSizes() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.headers...)
}

// discardFile is a File that throws everything away, for benchmarks.
type discardFile struct{}

func (discardFile) Write(p []byte) (int, error)            { return len(p), nil }
func (discardFile) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (discardFile) Sync() error                            { return nil }
func (discardFile) Close() error                           { return nil }

// wavFile is a parsed canonical 16-bit PCM WAV file.
type wavFile struct {
	riffSize, dataSize uint32
	rate, channels     int
	samples            []int16 // interleaved, as many as the data size declares and the file holds
	trailing           int     // bytes present after the declared data
}

// parseWAV checks every field of the canonical 44-byte header and returns
// the interleaved samples; audio.ReadWAV cannot be used for this because
// it mixes the channels down.
func parseWAV(t *testing.T, b []byte) wavFile {
	t.Helper()
	if len(b) < 44 {
		t.Fatalf("file of %d bytes is shorter than a WAV header", len(b))
	}
	le := binary.LittleEndian
	w := wavFile{
		riffSize: le.Uint32(b[4:8]),
		channels: int(le.Uint16(b[22:24])),
		rate:     int(le.Uint32(b[24:28])),
		dataSize: le.Uint32(b[40:44]),
	}
	if string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("not a canonical WAV header: %q", b[:44])
	}
	if got := le.Uint32(b[16:20]); got != 16 {
		t.Errorf("fmt chunk size %d, want 16", got)
	}
	if got := le.Uint16(b[20:22]); got != 1 {
		t.Errorf("format tag %d, want 1 (PCM)", got)
	}
	if got, want := int(le.Uint32(b[28:32])), w.rate*w.channels*2; got != want {
		t.Errorf("byte rate %d, want %d", got, want)
	}
	if got, want := int(le.Uint16(b[32:34])), w.channels*2; got != want {
		t.Errorf("block align %d, want %d", got, want)
	}
	if got := le.Uint16(b[34:36]); got != 16 {
		t.Errorf("bits per sample %d, want 16", got)
	}
	if w.riffSize != 36+w.dataSize {
		t.Errorf("RIFF size %d, want 36 + data size %d", w.riffSize, w.dataSize)
	}
	if int(w.dataSize)%(w.channels*2) != 0 {
		t.Errorf("data size %d is not a whole number of sample frames", w.dataSize)
	}
	data := b[44:]
	if int(w.dataSize) <= len(data) {
		w.trailing = len(data) - int(w.dataSize)
		data = data[:w.dataSize]
	} else {
		t.Errorf("header declares %d data bytes, file holds %d", w.dataSize, len(data))
	}
	for i := 0; i+1 < len(data); i += 2 {
		w.samples = append(w.samples, int16(le.Uint16(data[i:])))
	}
	return w
}

// channel extracts channel c of interleaved samples.
func channel(s []int16, channels, c int) []int16 {
	out := make([]int16, 0, len(s)/channels)
	for i := c; i < len(s); i += channels {
		out = append(out, s[i])
	}
	return out
}

// pattern fills a frame with a signal that differs on every sample and
// between the two sides, so a swap, a shift or a lost frame shows.
func pattern(dst []int16, start int, side int) {
	for i := range dst {
		k := start + i
		if side == 0 {
			dst[i] = int16(k*7 + 3)
		} else {
			dst[i] = int16(-k*13 - 5)
		}
	}
}

// soxInfo runs `soxi` on path (failing, not skipping, if sox is missing:
// it is a required tool here) and returns channels, rate and samples.
func soxInfo(t *testing.T, path string) (channels, rate, samples int) {
	t.Helper()
	bin, err := exec.LookPath("soxi")
	if err != nil {
		t.Fatalf("soxi not found (install Debian package sox): %v", err)
	}
	get := func(flag string) int {
		out, err := exec.Command(bin, flag, path).CombinedOutput()
		if err != nil {
			t.Fatalf("soxi %s %s: %v: %s", flag, path, err, out)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("soxi %s %s: %q is not a number", flag, path, out)
		}
		return n
	}
	return get("-c"), get("-r"), get("-s")
}

// checkNoLeak waits for the goroutine count to fall back to before.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, want %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitIdle waits until the writer has drained the queue.
func waitIdle(t *testing.T, r *Recorder) {
	t.Helper()
	r.signal()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		n := r.dcount
		r.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer did not drain %d queued frames", n)
		}
		r.signal()
		time.Sleep(time.Millisecond)
	}
}

// stepClock is a deterministic clock for Pause timestamps.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
