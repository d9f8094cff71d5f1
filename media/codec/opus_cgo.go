//go:build cgo

package codec

import (
	"errors"
	"fmt"

	"github.com/hraban/opus"
)

// The libopus side of Opus, through github.com/hraban/opus. Two details of
// that binding shape the code below:
//
//   - It passes cap(), not len(), of the caller's slices to libopus as the
//     frame size and the output limit. Every call therefore goes through a
//     full slice expression s[:n:n], so libopus never writes past what
//     this package's contract allows.
//   - Its argument checks build errors with fmt.Errorf, and libopus error
//     codes become interface values, both of which allocate. The checks
//     here run first (packet framing, buffer and frame sizes), so on the
//     packet path the binding only ever sees calls that succeed and
//     nothing allocates; libopus state lives in Go memory allocated once
//     per Encoder or Decoder.

const opusAvailable = true

// Compile-time checks.
var (
	_ Encoder    = (*opusEncoder)(nil)
	_ Decoder    = (*opusDecoder)(nil)
	_ Concealer  = (*opusDecoder)(nil)
	_ FECDecoder = (*opusDecoder)(nil)
)

type opusEncoder struct {
	enc opus.Encoder
}

func newOpusEncoder(o OpusOptions) (Encoder, error) {
	e := &opusEncoder{}
	if err := e.enc.Init(opusRate, 1, opus.AppVoIP); err != nil {
		return nil, fmt.Errorf("codec: opus encoder: %w", err)
	}
	set := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("codec: opus encoder: setting %s: %w", what, err)
		}
		return nil
	}
	if err := errors.Join(
		set("bitrate", e.enc.SetBitrate(o.Bitrate)),
		set("complexity", e.enc.SetComplexity(o.Complexity)),
		set("in-band FEC", e.enc.SetInBandFEC(!o.DisableFEC)),
		set("expected packet loss", e.enc.SetPacketLossPerc(o.PacketLossPercent)),
		set("DTX", e.enc.SetDTX(!o.DisableDTX)),
	); err != nil {
		return nil, err
	}
	return e, nil
}

// Encode codes one 10, 20, 40 or 60 ms mono frame (see NewOpus).
func (e *opusEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if !validOpusEncodeFrame(len(pcm)) {
		return 0, errOpusFrameSize
	}
	if len(dst) == 0 {
		return 0, ErrShortBuffer
	}
	n, err := e.enc.Encode(pcm, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, opusError("encode", err)
	}
	return n, nil
}

type opusDecoder struct {
	dec opus.Decoder
	// last is the duration in samples of the last packet decoded, the
	// length of the gap an empty (DTX) payload stands for.
	last int
}

func newOpusDecoder() (Decoder, error) {
	d := &opusDecoder{last: opusFrame20ms}
	if err := d.dec.Init(opusRate, 1); err != nil {
		return nil, fmt.Errorf("codec: opus decoder: %w", err)
	}
	return d, nil
}

// Decode decodes one packet into mono 48 kHz samples (see NewOpus).
func (d *opusDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(payload) == 0 {
		if len(dst) < d.last {
			return 0, ErrShortBuffer
		}
		return d.conceal(dst[:d.last])
	}
	n, err := opusPacketSamples(payload)
	if err != nil {
		return 0, err
	}
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	got, err := d.dec.Decode(payload, dst[:n:n])
	if err != nil {
		return 0, opusError("decode", err)
	}
	d.last = got
	return got, nil
}

// Conceal runs libopus packet-loss concealment for len(dst) samples, which
// must be a multiple of 2.5 ms (120 samples) up to 120 ms. It extrapolates
// from the last decoded audio and fades out over a long loss; before any
// packet it produces silence.
func (d *opusDecoder) Conceal(dst []int16) (int, error) {
	if !validOpusLossFrame(len(dst)) {
		return 0, errOpusLossSize
	}
	return d.conceal(dst)
}

func (d *opusDecoder) conceal(dst []int16) (int, error) {
	n := len(dst)
	if err := d.dec.DecodePLC(dst[:n:n]); err != nil {
		return 0, opusError("conceal", err)
	}
	return n, nil
}

// DecodeFEC recovers the len(dst) samples lost before payload from
// payload's in-band FEC data. libopus fills the part of a loss longer than
// payload's own duration, and the whole loss when payload carries no FEC
// (a CELT-only or DTX packet, or FEC off at the sender), with concealment.
// An empty payload is the same as Conceal.
func (d *opusDecoder) DecodeFEC(dst []int16, payload []byte) (int, error) {
	if !validOpusLossFrame(len(dst)) {
		return 0, errOpusLossSize
	}
	if len(payload) == 0 {
		return d.conceal(dst)
	}
	if _, err := opusPacketSamples(payload); err != nil {
		return 0, err
	}
	n := len(dst)
	if err := d.dec.DecodeFEC(payload, dst[:n:n]); err != nil {
		return 0, opusError("FEC decode", err)
	}
	return n, nil
}

// opusError maps a libopus error to this package's sentinels where one
// fits and adds context otherwise. The checks before each call make these
// paths unreachable in practice.
func opusError(op string, err error) error {
	switch {
	case errors.Is(err, opus.ErrBufferTooSmall):
		return ErrShortBuffer
	case errors.Is(err, opus.ErrInvalidPacket):
		return fmt.Errorf("codec: opus %s: %w: %w", op, ErrInvalidPayload, err)
	}
	return fmt.Errorf("codec: opus %s: %w", op, err)
}
