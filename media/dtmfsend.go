package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// DTMFMode is how SendDigits sends key presses to the caller. SIP INFO is the SIP
// layer's: it has the dialog.
type DTMFMode int

const (
	// DTMFModeUnknown is the zero value; SendDigits refuses it.
	DTMFModeUnknown DTMFMode = iota
	// DTMFAuto sends RFC 4733 events when telephone-event was negotiated, tones otherwise.
	DTMFAuto
	// DTMFRFC4733 sends telephone-events (RFC 4733 §2.5.1) in place of audio frames.
	DTMFRFC4733
	// DTMFInband plays the tones (ITU-T Q.23) in the audio, like a prompt.
	DTMFInband
)

// String is the config and log spelling of the mode.
func (m DTMFMode) String() string {
	switch m {
	case DTMFAuto:
		return "auto"
	case DTMFRFC4733:
		return "rfc4733"
	case DTMFInband:
		return "inband"
	}
	return "unknown"
}

// ParseDTMFMode reads the config spelling of a mode: auto, rfc4733 or inband.
func ParseDTMFMode(s string) (DTMFMode, error) {
	switch s {
	case "auto", "":
		return DTMFAuto, nil
	case "rfc4733", "rfc2833":
		return DTMFRFC4733, nil
	case "inband":
		return DTMFInband, nil
	}
	return DTMFModeUnknown, fmt.Errorf("%w %q (want auto, rfc4733 or inband)", ErrDTMFMode, s)
}

var (
	// ErrDTMFMode is returned for a DTMFMode SendDigits does not know.
	ErrDTMFMode = errors.New("media: unknown DTMF mode")
	// ErrNoTelephoneEvent is returned by SendDigits in RFC 4733 mode when the call did
	// not negotiate telephone-event (or a re-INVITE dropped it while sending), so the
	// flow can fall back to in-band tones or SIP INFO.
	ErrNoTelephoneEvent = errors.New("media: telephone-event not negotiated")
	// ErrNotConfigured is returned by SendDigits before the first Configure: without a
	// codec there is neither a clock rate for events nor a sample rate for tones.
	ErrNotConfigured = errors.New("media: session not configured")
)

// Key press timing of SendDigits: 100 ms of tone or event, then 70 ms before the next,
// as most gateways send and well above the 40 ms ITU-T Q.24 receivers need.
const (
	DefaultDTMFSendOn  = 100 * time.Millisecond
	DefaultDTMFSendOff = 70 * time.Millisecond
)

// digitJob is one SendDigits call in RFC 4733 mode; guarded by sendMu.
type digitJob struct {
	digits    string
	next      int  // index of the next digit to start
	cancelled bool // ctx ended: finish the event in progress, start no other
	done      chan error
	finished  bool
}

func (j *digitJob) finish(err error) {
	if !j.finished {
		j.finished = true
		j.done <- err
	}
}

// dtmfTx is the RFC 4733 sender state that outlives a job: the event in progress and
// the pause after it. Guarded by sendMu.
type dtmfTx struct {
	sender    dtmf.Sender
	evTS      uint32 // RTP timestamp of the event in progress: its start (§2.5.1.2)
	nextStart uint32 // no event starts before this timestamp (the pause)
	pausing   bool   // nextStart is valid
}

// SendDigits sends digits ('0'-'9', '*', '#', 'A'-'D') to the caller and returns when
// they have been sent, including the pause after the last one. In RFC 4733 mode each
// key press is a telephone-event driven by the media clock: its packets take the place
// of audio frames (the playback pauses meanwhile), carry the event's start timestamp,
// the marker on the first, sequence numbers continuing the stream, and the end packet
// three times (§2.5.1.4). In-band mode plays the tones like a prompt (it replaces a
// playback in progress, which returns ErrInterrupted). Each digit lasts 100 ms with
// 70 ms between digits.
//
// It returns ctx's error when ctx ends (an event already started is still completed,
// so the far end never sees a key stuck down), ErrInterrupted when a newer SendDigits
// replaced it, ErrClosed when the session closes, ErrNoTelephoneEvent in RFC 4733 mode
// without telephone-event, and an error wrapping dtmf.ErrUnknownEvent for a character
// that is not a digit. On hold the digits take their time but nothing is sent.
func (s *Session) SendDigits(ctx context.Context, digits string, mode DTMFMode) error {
	for i := range len(digits) {
		if _, ok := dtmf.CodeFromDigit(digits[i]); !ok {
			return fmt.Errorf("media: send digits %q: %w: %q", digits, dtmf.ErrUnknownEvent, digits[i])
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.params.Load()
	if p == nil {
		return ErrNotConfigured
	}
	switch mode {
	case DTMFAuto:
		mode = DTMFInband
		if p.DTMFPayloadType >= 0 {
			mode = DTMFRFC4733
		}
	case DTMFRFC4733, DTMFInband:
	default:
		return fmt.Errorf("%w %d", ErrDTMFMode, int(mode))
	}
	if digits == "" {
		return nil
	}
	if mode == DTMFInband {
		src, err := dtmf.NewToneSource(digits, p.Codec.SampleRate(), DefaultDTMFSendOn, DefaultDTMFSendOff, dtmf.DefaultToneLevel)
		if err != nil {
			return fmt.Errorf("media: send digits in-band: %w", err)
		}
		if err := s.Play(ctx, src); err != nil {
			return err
		}
		s.eng.metrics.dtmfSentInband.Add(float64(len(digits)))
		return nil
	}
	if p.DTMFPayloadType < 0 {
		return ErrNoTelephoneEvent
	}
	job := &digitJob{digits: digits, done: make(chan error, 1)}
	s.sendMu.Lock()
	if s.closed.Load() {
		s.sendMu.Unlock()
		return ErrClosed
	}
	if old := s.digitOut; old != nil {
		old.finish(ErrInterrupted)
	}
	s.digitOut = job
	s.sendMu.Unlock()

	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
	}
	s.sendMu.Lock()
	if s.digitOut == job {
		if s.dtmfTx.sender.Active() {
			job.cancelled = true // the tick completes the event, then drops the job
		} else {
			s.digitOut = nil
		}
	}
	job.finish(ctx.Err()) // unless it finished in the meantime: that result wins
	s.sendMu.Unlock()
	return <-job.done
}

// emitDigit fills the frame slot at s.ts with the next telephone-event packet of the
// current job and reports true, or reports false when the slot is audio: the pause
// between key presses, or the job just ended. The caller holds sendMu and has checked
// s.digitOut != nil.
func (s *Session) emitDigit(p *sessionParams, due time.Time) bool {
	job, tx := s.digitOut, &s.dtmfTx
	if p.DTMFPayloadType < 0 {
		tx.sender = dtmf.Sender{} // a re-INVITE dropped telephone-event: abandon it
		s.digitOut = nil
		job.finish(ErrNoTelephoneEvent)
		return false
	}
	ts := s.ts
	clock := p.Codec.ClockRate()
	if !tx.sender.Active() {
		if tx.pausing && rtp.TSLess(ts, tx.nextStart) {
			return false
		}
		tx.pausing = false
		if job.cancelled || job.next >= len(job.digits) {
			s.digitOut = nil
			job.finish(nil)
			return false
		}
		d := job.digits[job.next]
		if err := tx.sender.Start(d, DefaultDTMFSendOn, clock, p.ptimeMs); err != nil {
			s.digitOut = nil
			job.finish(fmt.Errorf("media: send digit %q: %w", d, err))
			return false
		}
		job.next++
		tx.evTS = ts
		s.eng.metrics.dtmfSentRFC4733.Inc()
	}
	s.ts += p.tsPerFrame
	pkt := s.packetBuf()
	payload := pkt[rtp.HeaderSize : rtp.HeaderSize+dtmf.EventSize]
	n, marker, done := tx.sender.Next(payload)
	if done {
		on := int64(DefaultDTMFSendOn) * int64(clock) / int64(time.Second)
		off := int64(DefaultDTMFSendOff) * int64(clock) / int64(time.Second)
		tx.nextStart, tx.pausing = tx.evTS+uint32(on+off), true
	}
	if p.canSend && n > 0 {
		s.writeRTP(p, pkt, uint8(p.DTMFPayloadType), marker, tx.evTS, ts, n, due)
	}
	return true
}
