package record

import (
	"bufio"
	"errors"
	"fmt"
	"math"

	"github.com/hotline-ivr/hotline/media/audio"
)

// counter counts the bytes that reached the file, so a header written after
// an error describes only audio that is really there.
type counter struct {
	f File
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

// zeroChunk is the size of the silence buffer; gaps are written in chunks.
const zeroChunk = 4096

// writer is the state of the goroutine that owns the file. Only that
// goroutine touches it, until Recorder.done is closed.
type writer struct {
	f       File
	cnt     counter
	bw      *bufio.Writer
	rpos    int   // read position in the ring
	data    int64 // audio bytes handed to bw
	every   int64 // audio bytes between header rewrites
	next    int64 // data size that triggers the next rewrite
	limit   int64 // largest data size a RIFF header can describe
	hdr     [audio.WAVHeaderSize]byte
	zeros   []byte
	err     error
	trunc   bool
	rewrite int // header rewrites, for tests
}

// init writes the initial header straight to f, so a file exists and is
// valid (zero samples) before the first frame arrives.
func (w *writer) init(f File, r *Recorder) error {
	w.f = f
	w.cnt.f = f
	bytesPerSec := int64(r.rate * r.block)
	w.every = max(int64(r.cfg.headerInterval)*bytesPerSec/1e9/int64(r.block), 1) * int64(r.block)
	w.next = w.every
	w.limit = math.MaxUint32 - (audio.WAVHeaderSize - 8)
	if r.cfg.maxData > 0 {
		w.limit = min(w.limit, r.cfg.maxData)
	}
	w.limit -= w.limit % int64(r.block)
	w.zeros = make([]byte, zeroChunk-zeroChunk%r.block)
	if _, err := w.cnt.Write(header(w.hdr[:], 0, r.rate, r.channels)); err != nil {
		return err
	}
	w.bw = bufio.NewWriterSize(&w.cnt, r.cfg.bufSize)
	return nil
}

// run is the writer goroutine: drain on every wake-up, and on stop drain
// the rest and finish the file.
func (r *Recorder) run() {
	defer close(r.done)
	for {
		select {
		case <-r.wake:
			r.drain()
		case <-r.stop:
			r.drain()
			r.finish()
			return
		}
	}
}

// drain writes every queued descriptor. The ring bytes of the descriptor at
// the head stay reserved (counted in ringUsed) until it is written, so the
// producer cannot overwrite them while they are read without the lock.
func (r *Recorder) drain() {
	w := &r.w
	for {
		r.mu.Lock()
		if r.dcount == 0 {
			r.mu.Unlock()
			return
		}
		d := r.descs[r.dhead]
		r.mu.Unlock()

		w.silence(d.silence * int64(r.block))
		if end := w.rpos + d.bytes; end <= len(r.ring) {
			w.write(r.ring[w.rpos:end])
		} else {
			w.write(r.ring[w.rpos:])
			w.write(r.ring[:end-len(r.ring)])
		}
		w.rpos = (w.rpos + d.bytes) % len(r.ring)
		if w.err == nil && w.data >= w.next {
			r.checkpoint()
		}

		r.mu.Lock()
		r.dhead = (r.dhead + 1) % len(r.descs)
		r.dcount--
		r.ringUsed -= d.bytes
		if w.err != nil || w.trunc {
			r.halted = true
		}
		r.mu.Unlock()
	}
}

// write hands p to the buffered writer unless the file already failed or is
// full; at the RIFF size limit it writes what fits and marks truncation.
func (w *writer) write(p []byte) {
	if w.err != nil || w.trunc || len(p) == 0 {
		return
	}
	if room := w.limit - w.data; int64(len(p)) > room {
		p = p[:room]
		w.trunc = true
	}
	n, err := w.bw.Write(p)
	w.data += int64(n)
	if err != nil {
		w.err = err
	}
}

// silence writes n bytes of zeros.
func (w *writer) silence(n int64) {
	for n > 0 && w.err == nil && !w.trunc {
		k := min(n, int64(len(w.zeros)))
		w.write(w.zeros[:k])
		n -= k
	}
}

// checkpoint flushes the buffer, applies the sync policy and rewrites the
// header. Flushing first means the header never describes audio that is
// not yet in the file; with SyncCheckpoint the audio is also durable before
// the header that covers it is written.
func (r *Recorder) checkpoint() {
	w := &r.w
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return
	}
	if r.cfg.sync == SyncCheckpoint {
		if err := w.f.Sync(); err != nil {
			w.err = err
			return
		}
	}
	if err := r.writeHeader(); err != nil {
		w.err = err
		return
	}
	w.next = (w.data/w.every + 1) * w.every
	w.rewrite++
	if r.cfg.onCheckpoint != nil {
		r.cfg.onCheckpoint(w.data)
	}
}

// writeHeader rewrites the header at offset 0 for the whole sample frames
// that reached the file.
func (r *Recorder) writeHeader() error {
	w := &r.w
	data := r.fileData()
	_, err := w.f.WriteAt(header(w.hdr[:], data, r.rate, r.channels), 0)
	return err
}

// fileData is the audio in the file: bytes that reached it, less the
// header, rounded down to whole sample frames.
func (r *Recorder) fileData() int64 {
	data := max(r.w.cnt.n-audio.WAVHeaderSize, 0)
	return min(data-data%int64(r.block), r.w.limit)
}

// finish writes the silence still owed (frames dropped at the very end or a
// pause still open), flushes, writes the exact header, syncs and closes the
// file, recording Info and the first error. It runs after the last drain,
// when Close has stopped the producer.
func (r *Recorder) finish() {
	w := &r.w
	r.mu.Lock()
	tail := r.pendingSilence
	r.pendingSilence = 0
	r.mu.Unlock()
	w.silence(tail * int64(r.block))

	var flushErr, hdrErr, syncErr error
	if w.err == nil {
		flushErr = w.bw.Flush()
	}
	// The header is rewritten even after a write error: it then describes
	// whatever audio did reach the file.
	hdrErr = r.writeHeader()
	if r.cfg.sync != SyncNever && w.err == nil && flushErr == nil && hdrErr == nil {
		syncErr = w.f.Sync()
	}
	closeErr := w.f.Close()
	if err := errors.Join(w.err, flushErr, hdrErr, syncErr, closeErr); err != nil {
		r.err = fmt.Errorf("record: %s: %w", r.path, err)
	}
	data := r.fileData()
	r.info.Path = r.path
	r.info.Rate = r.rate
	r.info.Channels = r.channels
	r.info.Duration = r.duration(data / int64(r.block))
	r.info.Bytes = w.cnt.n
	r.info.Truncated = w.trunc
}
