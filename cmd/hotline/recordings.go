package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/record"
)

// recordings stores the engine's audio under one directory: voicemail from the
// flows' record nodes (voicemail/YYYY/MM/DD/<call>-<node>.wav) and, when enabled,
// whole calls in stereo (calls/YYYY/MM/DD/<call>.wav, caller left, engine or agent
// right). References in call records and tickets are paths relative to the
// directory, which is what the API's /api/v1/recordings/{name} serves.
type recordings struct {
	dir string
}

var _ ivr.Recorder = (*recordings)(nil)

// StartRecording begins a voicemail (a flow's record node).
func (r *recordings) StartRecording(_ context.Context, req ivr.RecordingRequest) (ivr.Recording, error) {
	name := record.FileName(req.CallID + "-" + req.Node)
	path := record.Path(filepath.Join(r.dir, "voicemail"), name, time.Now().UTC())
	rec, err := record.Create(path, req.SampleRate, record.WithMono())
	if err != nil {
		return nil, fmt.Errorf("start voicemail of call %s: %w", req.CallID, err)
	}
	// A frame is at most 40 ms at 48 kHz; the silent engine side of a voicemail is
	// one buffer, allocated here and never on the media path.
	return &voicemail{rec: rec, dir: r.dir, silence: make([]int16, 48000*40/1000)}, nil
}

// voicemail is one record node's recording: the caller's side only.
type voicemail struct {
	rec     *record.Recorder
	dir     string
	silence []int16
}

// WriteSample stores a frame of the caller's audio; it never blocks (see record).
func (v *voicemail) WriteSample(pcm []int16) error {
	if len(pcm) > len(v.silence) {
		return fmt.Errorf("voicemail: frame of %d samples is longer than 40 ms at 48 kHz", len(pcm))
	}
	v.rec.WriteStereo(pcm, v.silence[:len(pcm)])
	return nil
}

// Finish completes the file and returns its name relative to the recordings
// directory.
func (v *voicemail) Finish(context.Context) (string, error) {
	info, err := v.rec.Close()
	if err != nil {
		return "", fmt.Errorf("finish voicemail %s: %w", info.Path, err)
	}
	rel, err := filepath.Rel(v.dir, info.Path)
	if err != nil {
		return info.Path, nil
	}
	return filepath.ToSlash(rel), nil
}

// Discard closes and deletes a recording that held only silence.
func (v *voicemail) Discard(context.Context) error {
	info, err := v.rec.Close()
	if rmErr := os.Remove(info.Path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		return errors.Join(err, fmt.Errorf("discard voicemail: %w", rmErr))
	}
	return nil
}

// callRecording records a whole call in stereo from its media session: the session
// feeds both directions of every tick (media.StereoSink), aligned. stop removes it
// from the session and completes the file.
type callRecording struct {
	rec    *record.Recorder
	remove func()
	dir    string
}

// startCallRecording begins recording s, the media session of call callID.
func (r *recordings) startCallRecording(s *media.Session, callID string) (*callRecording, error) {
	path := record.Path(filepath.Join(r.dir, "calls"), callID, time.Now().UTC())
	rec, err := record.Create(path, s.SampleRate())
	if err != nil {
		return nil, fmt.Errorf("start recording of call %s: %w", callID, err)
	}
	return &callRecording{rec: rec, remove: s.AddStereoSink(rec), dir: r.dir}, nil
}

// stop ends the recording and returns the file's name relative to the recordings
// directory, for the call record.
func (c *callRecording) stop() (string, error) {
	c.remove()
	info, err := c.rec.Close()
	if err != nil {
		return "", fmt.Errorf("finish call recording %s: %w", info.Path, err)
	}
	rel, relErr := filepath.Rel(c.dir, info.Path)
	if relErr != nil {
		return info.Path, nil
	}
	return filepath.ToSlash(rel), nil
}
