package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// File is what a Recorder writes to: sequential writes for the audio and
// WriteAt for the header rewrites. *os.File implements it; New takes one so
// tests can inject slow or failing storage.
type File interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
}

// Info describes a finished recording, for the call record.
type Info struct {
	// Path is the file name (empty when New was given a File without a Name).
	Path string
	// Rate is the sample rate in Hz; Channels is 2 (caller left, other side
	// right) or 1 with WithMono.
	Rate, Channels int
	// Duration is the length of the audio the final header describes.
	Duration time.Duration
	// Bytes is the size of the file: header plus audio.
	Bytes int64
	// Dropped counts frames the writer could not keep up with. Each was
	// replaced by silence of the same length, so Duration still matches the
	// call; a non-zero value means the disk is too slow for the load.
	Dropped int64
	// Pauses lists every Pause/Resume interval, in order.
	Pauses []Pause
	// Truncated reports that the recording reached the 4 GiB limit of a
	// RIFF file (about 6 h at 48 kHz stereo) and the rest was not written.
	Truncated bool
}

// Pause is one interval during which the recording was paused, so the call
// record can prove which part of the call was not recorded.
type Pause struct {
	// Start and End are the wall-clock times of Pause and Resume (End is
	// the Close time if the recording was still paused).
	Start, End time.Time
	// Offset is where in the file the pause begins. With PauseSilence the
	// file holds Length of silence there; with PauseSkip the audio after
	// the pause follows directly at Offset.
	Offset time.Duration
	// Length is the amount of call audio the pause covered.
	Length time.Duration
}

// desc is one queued write: silence sample frames, then bytes of audio
// taken from the ring.
type desc struct {
	silence int64
	bytes   int
}

// wakeFrames is how many queued frames wake the writer: about 100 ms of
// audio per wake-up rather than one per 20 ms frame.
const wakeFrames = 5

// Recorder writes one call's audio to a WAV file without ever blocking the
// media clock that feeds it. WriteStereo, Pause, Resume and Close may be
// called from any goroutine. Close must be called once the call ends: the
// Recorder owns a writer goroutine and the file until then.
type Recorder struct {
	path     string
	rate     int
	channels int
	block    int // bytes per sample frame
	cfg      config

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	info      Info
	err       error

	// mu guards the queue and the timeline. Nobody holds it across I/O or
	// while waiting, so WriteStereo never waits for the disk.
	mu             sync.Mutex
	ring           []byte // audio bytes, a whole number of sample frames
	wpos, ringUsed int
	descs          []desc
	dhead, dcount  int
	pendingSilence int64 // sample frames of silence not yet queued (drops, pauses)
	timeline       int64 // sample frames the file will hold once drained
	pausedFrames   int64 // sample frames offered during the current pause
	dropped        int64
	pauses         []Pause
	paused         bool
	closed         bool // Close began: frames are ignored
	halted         bool // the writer failed or hit the size limit

	w writer // owned by the writer goroutine
}

// The media session feeds a recorder through its StereoSink interface.
var _ interface{ WriteStereo(caller, engine []int16) } = (*Recorder)(nil)

// Create makes the directories of path (mode 0750), creates the file (mode
// 0640, refusing to overwrite an existing recording: the error then wraps
// fs.ErrExist) and starts recording to it at rate Hz.
func Create(path string, rate int, opts ...Option) (*Recorder, error) {
	cfg, err := newConfig(rate, opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if cfg.sync == SyncCheckpoint {
		if err := syncDir(dir); err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	r, err := start(f, path, rate, cfg)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return r, nil
}

// New records to f at rate Hz, taking ownership of f (Close closes it). f
// should be empty and positioned at its start: the header is written first
// and later rewritten at offset 0.
func New(f File, rate int, opts ...Option) (*Recorder, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: nil file", ErrInvalid)
	}
	cfg, err := newConfig(rate, opts)
	if err != nil {
		return nil, err
	}
	var path string
	if n, ok := f.(interface{ Name() string }); ok {
		path = n.Name()
	}
	return start(f, path, rate, cfg)
}

// start builds the recorder and starts its writer goroutine.
func start(f File, path string, rate int, cfg config) (*Recorder, error) {
	r, err := newRecorder(f, path, rate, cfg)
	if err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

// newRecorder allocates the queue and writes the initial header (zero
// samples: the file is valid from its first byte), without starting the
// writer, so tests and benchmarks can drive the writer's steps directly.
func newRecorder(f File, path string, rate int, cfg config) (*Recorder, error) {
	channels := 2
	if cfg.mono {
		channels = 1
	}
	block := channels * 2
	queued := int(int64(cfg.queue) * int64(rate) / int64(time.Second))
	r := &Recorder{
		path:     path,
		rate:     rate,
		channels: channels,
		block:    block,
		cfg:      cfg,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		ring:     make([]byte, max(queued, 1)*block),
		// Frames are at least 5 ms in practice, so the ring fills first.
		descs:  make([]desc, max(int(cfg.queue/(5*time.Millisecond)), 2)),
		pauses: make([]Pause, 0, 4),
	}
	if err := r.w.init(f, r); err != nil {
		return nil, fmt.Errorf("record: writing header of %s: %w", path, err)
	}
	return r, nil
}

// WriteStereo queues one frame of each side; the two slices hold the same
// number of samples at the recorder's rate (a shorter one is padded with
// silence). It never waits for the disk and does not allocate: when the
// queue is full the frame is dropped, counted in Info.Dropped and replaced
// by silence in the file. Frames after Close, or after a disk error, are
// ignored.
func (r *Recorder) WriteStereo(caller, engine []int16) {
	n := max(len(caller), len(engine))
	if n == 0 {
		return
	}
	r.mu.Lock()
	if r.closed || r.halted {
		r.mu.Unlock()
		return
	}
	frames := int64(n)
	if r.paused {
		r.pausedFrames += frames
		wake := false
		if r.cfg.pause == PauseSilence {
			// Queued as its own entry so the file, and its header, keep
			// growing during a long pause.
			r.pendingSilence += frames
			r.timeline += frames
			if r.dcount < len(r.descs) {
				wake = r.push(0)
			}
		}
		r.mu.Unlock()
		if wake {
			r.signal()
		}
		return
	}
	size := n * r.block
	r.timeline += frames
	if r.dcount == len(r.descs) || r.ringUsed+size > len(r.ring) {
		r.dropped++
		r.pendingSilence += frames
		r.mu.Unlock()
		r.signal()
		return
	}
	r.encode(caller, engine, n)
	wake := r.push(size)
	r.mu.Unlock()
	if wake {
		r.signal()
	}
}

// push queues the pending silence followed by size bytes just encoded into
// the ring, and says whether the writer should be woken. r.mu is held.
func (r *Recorder) push(size int) bool {
	r.descs[(r.dhead+r.dcount)%len(r.descs)] = desc{silence: r.pendingSilence, bytes: size}
	r.dcount++
	r.pendingSilence = 0
	r.ringUsed += size
	return r.dcount >= wakeFrames || 2*r.ringUsed >= len(r.ring)
}

// signal wakes the writer without waiting: one pending wake-up is enough.
func (r *Recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// encode writes n sample frames as little-endian PCM at the ring's write
// position, wrapping at its end. The ring holds whole sample frames, so a
// wrap never splits one. r.mu is held.
func (r *Recorder) encode(caller, engine []int16, n int) {
	for i := 0; i < n; {
		seg := r.ring[r.wpos:]
		m := min(n-i, len(seg)/r.block)
		if r.channels == 1 {
			encodeMono(seg, caller, engine, i, i+m)
		} else {
			encodeStereo(seg, caller, engine, i, i+m)
		}
		i += m
		r.wpos = (r.wpos + m*r.block) % len(r.ring)
	}
}

func sample(s []int16, i int) int16 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// encodeStereo interleaves caller (left) and engine (right) samples
// [from, to) into dst.
func encodeStereo(dst []byte, caller, engine []int16, from, to int) {
	if to <= len(caller) && to <= len(engine) {
		c, e := caller[from:to], engine[from:to]
		e = e[:len(c)]
		for i := range c {
			binary.LittleEndian.PutUint32(dst[i*4:], uint32(uint16(c[i]))|uint32(uint16(e[i]))<<16)
		}
		return
	}
	for i := from; i < to; i++ {
		l, rt := sample(caller, i), sample(engine, i)
		binary.LittleEndian.PutUint32(dst[(i-from)*4:], uint32(uint16(l))|uint32(uint16(rt))<<16)
	}
}

// encodeMono writes the saturated sum of both sides [from, to) into dst.
func encodeMono(dst []byte, caller, engine []int16, from, to int) {
	if to <= len(caller) && to <= len(engine) {
		c, e := caller[from:to], engine[from:to]
		e = e[:len(c)]
		for i := range c {
			binary.LittleEndian.PutUint16(dst[i*2:], uint16(min(max(int32(c[i])+int32(e[i]), -32768), 32767)))
		}
		return
	}
	for i := from; i < to; i++ {
		s := min(max(int32(sample(caller, i))+int32(sample(engine, i)), -32768), 32767)
		binary.LittleEndian.PutUint16(dst[(i-from)*2:], uint16(s))
	}
}

// Pause stops recording the call's audio from the next frame on, for as
// long as the caller reads out a card number (PCI DSS): the file gets
// silence or nothing (WithPauseMode) and the interval goes into
// Info.Pauses. Pausing a paused or closed recorder does nothing.
func (r *Recorder) Pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	r.paused = true
	r.pausedFrames = 0
	r.pauses = append(r.pauses, Pause{Start: r.cfg.now(), Offset: r.duration(r.timeline)})
}

// Resume records again from the next frame on. Resuming a recorder that is
// not paused does nothing.
func (r *Recorder) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.paused {
		return
	}
	r.endPause()
}

// endPause closes the open Pause entry. r.mu is held.
func (r *Recorder) endPause() {
	r.paused = false
	p := &r.pauses[len(r.pauses)-1]
	p.End = r.cfg.now()
	p.Length = r.duration(r.pausedFrames)
}

// duration converts sample frames at the recorder's rate to time.
func (r *Recorder) duration(frames int64) time.Duration {
	return time.Duration(frames * int64(time.Second) / int64(r.rate))
}

// Close stops recording, waits for the writer to drain the queue, writes
// the exact header, applies the sync policy and closes the file. It returns
// the recording's Info and the first disk error, if any (the file is still
// valid up to what reached it). Later calls return the same result.
func (r *Recorder) Close() (Info, error) {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		if r.paused {
			r.endPause()
		}
		r.mu.Unlock()
		close(r.stop)
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		r.info.Dropped = r.dropped
		r.info.Pauses = r.pauses
	})
	info := r.info
	info.Pauses = slices.Clone(info.Pauses)
	return info, r.err
}

// String names the recorder in logs.
func (r *Recorder) String() string {
	layout := "stereo"
	if r.channels == 1 {
		layout = "mono"
	}
	return fmt.Sprintf("record(%s, %d Hz %s)", r.path, r.rate, layout)
}

// syncDir makes a newly created directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// header returns the canonical header for dataBytes of audio in buf.
func header(buf []byte, dataBytes int64, rate, channels int) []byte {
	return audio.WAVHeader(buf[:0], uint32(dataBytes), rate, channels)
}
