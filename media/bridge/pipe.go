package bridge

import (
	"io"
	"sync/atomic"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
)

// ringSamples is each direction's ring: 16384 samples, 341 ms at 48 kHz, more at
// lower rates. It only needs to hold two of the longest frames (120 ms Opus); the
// reader keeps the delay near one frame whatever the size (see maxLagFrames).
const ringSamples = 16384

// maxFrameMs is the longest frame a Sink may deliver (Opus at 120 ms, RFC 6716): the
// resampler's scratch buffer is sized for it once.
const maxFrameMs = 120

// primeFrames and maxLagFrames keep the added delay to one or two frames: after an
// underrun the reader waits until 1.5 frames are queued (so producer and consumer
// ticks, which run at the same pace but different phases, do not underrun on every
// jitter of the scheduler), and when more than three frames are queued (the reader
// stalled, or the producer's clock ran ahead) it drops the oldest down to two.
const (
	primeNum, primeDen = 3, 2
	maxLagFrames       = 3
	keepLagFrames      = 2
)

// pipe carries one direction of a bridge: from's decoded audio (a media.Sink on
// from's clock tick) resampled to to's rate into a ring, and out of it as the Source
// that to plays (on to's clock tick). Nothing on either path allocates or locks,
// except rebuilding the resampler when a re-INVITE changes a side's codec rate.
type pipe struct {
	from, to Session
	q        *ring

	// producer state (from's tick only)
	rs              *audio.Resampler
	inRate, outRate int
	scratch         []int16

	// consumer state (to's tick only)
	primed bool

	closed atomic.Bool
	st     dirStats
}

// dirStats are one direction's counters, read by Stats from any goroutine.
type dirStats struct {
	frames, dropped, underruns, trimmed atomic.Uint64
}

func newPipe(from, to Session) *pipe {
	return &pipe{from: from, to: to, q: newRing(ringSamples)}
}

var (
	_ media.Sink   = (*pipe)(nil)
	_ media.Source = (*pipe)(nil)
)

// WriteAudio takes one frame of from's audio (producer side, from's clock tick).
func (p *pipe) WriteAudio(pcm []int16) {
	if p.closed.Load() {
		return
	}
	in, out := p.from.SampleRate(), p.to.SampleRate()
	if in <= 0 || out <= 0 {
		return
	}
	if in != p.inRate || out != p.outRate {
		p.retune(in, out)
	}
	p.st.frames.Add(1)
	src := pcm
	if p.rs != nil {
		n := p.rs.Process(p.scratch, pcm)
		src = p.scratch[:n]
	}
	if d := p.q.write(src); d > 0 {
		p.st.dropped.Add(uint64(d))
	}
}

// retune (re)builds the resampler for new rates: at the first frame, and when a
// re-INVITE changed a codec. It is the only allocation of the path.
func (p *pipe) retune(in, out int) {
	p.inRate, p.outRate = in, out
	p.rs, p.scratch = nil, nil
	if in == out {
		return
	}
	rs, err := audio.NewResampler(in, out)
	if err != nil {
		return // unreachable for positive rates; the frame is passed through unconverted
	}
	p.rs = rs
	p.scratch = make([]int16, rs.OutLen(in*maxFrameMs/1000))
}

// Read fills one frame of to's outgoing audio (consumer side, to's clock tick). It
// never blocks and never ends while the bridge runs: silence fills an underrun.
func (p *pipe) Read(frame []int16) (int, error) {
	if p.closed.Load() {
		return 0, io.EOF
	}
	n := len(frame)
	have := p.q.len()
	if !p.primed {
		if have < n*primeNum/primeDen {
			clear(frame)
			return n, nil
		}
		p.primed = true
	}
	if have > maxLagFrames*n {
		p.st.trimmed.Add(uint64(p.q.skip(have - keepLagFrames*n)))
	}
	got := p.q.read(frame)
	if got < n {
		clear(frame[got:])
		p.st.underruns.Add(1)
		p.primed = false
	}
	return n, nil
}

// DirStats describes one direction of a bridge.
type DirStats struct {
	Frames    uint64 // frames received from the speaking side
	Dropped   uint64 // samples lost because the ring was full (the listener stalled)
	Underruns uint64 // frames the listener played partly or wholly as silence
	Trimmed   uint64 // samples skipped to keep the delay at two frames or less
}

func (s *dirStats) snapshot() DirStats {
	return DirStats{Frames: s.frames.Load(), Dropped: s.dropped.Load(),
		Underruns: s.underruns.Load(), Trimmed: s.trimmed.Load()}
}
