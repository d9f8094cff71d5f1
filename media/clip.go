package media

import (
	"io"
	"time"
)

// Clip plays a PCM buffer once. The buffer is shared, not copied, so one rendered
// prompt can play to many calls at the same time; each call gets its own Clip.
type Clip struct {
	pcm []int16
	off int
}

// NewClip returns a Source that plays pcm from the start.
func NewClip(pcm []int16) *Clip { return &Clip{pcm: pcm} }

// Read copies the next frame; it returns io.EOF with the last samples.
func (c *Clip) Read(frame []int16) (int, error) {
	n := copy(frame, c.pcm[c.off:])
	c.off += n
	if c.off >= len(c.pcm) {
		return n, io.EOF
	}
	return n, nil
}

// Silence is a Source of d of silence at rate: a pause between prompts that still keeps
// the outgoing stream (and the caller's jitter buffer) fed.
func Silence(d time.Duration, rate int) Source {
	return &silence{left: int(int64(rate) * int64(d) / int64(time.Second))}
}

type silence struct{ left int }

func (s *silence) Read(frame []int16) (int, error) {
	n := min(len(frame), s.left)
	clear(frame[:n])
	s.left -= n
	if s.left <= 0 {
		return n, io.EOF
	}
	return n, nil
}
