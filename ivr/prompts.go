package ivr

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"weak"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
)

// say speaks text. Prompt audio is cached by the Synthesizer, so only the first call
// pays for synthesis. A barge-in prompt is skipped when the caller has already typed
// ahead: they know what they want and must not be made to listen.
func (c *call) say(ctx context.Context, text, voice string, bargeIn bool) error {
	if bargeIn && c.typedAhead() {
		return nil
	}
	if voice == "" {
		voice = c.flow.Voice // the loader applies it already; kept for hand-built flows
	}
	pcm, err := c.rt.synth.Synthesize(ctx, text, voice, c.ch.SampleRate())
	if err != nil {
		return fmt.Errorf("synthesize prompt: %w", err)
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn)
}

// playFile plays a WAV file of the flow at the call's rate; see say for barge-in.
func (c *call) playFile(ctx context.Context, path string, bargeIn bool) error {
	if bargeIn && c.typedAhead() {
		return nil
	}
	pcm, err := c.rt.prompts.load(c.flow, path, c.ch.SampleRate())
	if err != nil {
		return err
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn)
}

// play sends src while collecting digits into the type-ahead buffer. With bargeIn a
// digit stops the prompt (within one media clock tick) and play returns nil: the
// prompt did its job, the caller answered it; the digit stays buffered for the next
// gather, so nothing the caller pressed is lost. Without bargeIn the prompt plays to
// the end and the digits are still buffered. play returns only after the channel's
// Play has returned, so no goroutine outlives it.
func (c *call) play(ctx context.Context, src media.Source, bargeIn bool) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.ch.Play(pctx, src) }()
	for {
		select {
		case err := <-done:
			// pctx is cancelled only below, where done is drained, or with ctx: an
			// error here is the channel's own, context.Canceled included.
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				return fmt.Errorf("play prompt: %w", err)
			}
			return nil
		case d, ok := <-c.digits:
			if !ok {
				c.digits = nil // no more digits: let the prompt finish
				continue
			}
			if !c.keep(d) {
				continue
			}
			c.typeahead = append(c.typeahead, d)
			if bargeIn {
				cancel()
				<-done // its error is the cancellation we asked for
				c.log.Debug("prompt interrupted by digit", "digit", string(d))
				return ctx.Err()
			}
		case <-ctx.Done():
			cancel()
			<-done
			return ctx.Err()
		}
	}
}

// typedAhead reports whether the caller has pressed a digit no gather consumed yet,
// counting digits received while the runtime was not listening (between nodes,
// during synthesis).
func (c *call) typedAhead() bool {
	c.poll()
	return len(c.typeahead) > 0
}

// poll moves the digits already received into the type-ahead buffer, without waiting.
func (c *call) poll() {
	for {
		select {
		case d, ok := <-c.digits:
			if !ok {
				c.digits = nil
				return
			}
			if c.keep(d) {
				c.typeahead = append(c.typeahead, d)
			}
		default:
			return
		}
	}
}

// discardInput drops every digit received and not consumed yet.
func (c *call) discardInput() {
	c.poll()
	c.typeahead = c.typeahead[:0]
	c.pendingFinish = 0
}

// keep reports whether digit d, just received from the channel, is input; it drops a
// pending finish key (see call.pendingFinish).
func (c *call) keep(d byte) bool {
	pf := c.pendingFinish
	c.pendingFinish = 0
	return pf == 0 || d != pf
}

// fileCache keeps WAV prompts decoded and resampled per call rate, so a file is read
// once per loaded flow and rate, not once per call. Entries belong to the *flows.Flow
// they were loaded for: a reload (a new Flow) reads the files again, so replaced audio
// is heard even when the flow file itself did not change, and the entries of a flow
// nobody runs any more are dropped when the garbage collector frees it.
type fileCache struct {
	mu    sync.Mutex
	flows map[weak.Pointer[flows.Flow]]map[fileKey][]int16
}

type fileKey struct {
	path string
	rate int
}

func newFileCache() *fileCache {
	return &fileCache{flows: make(map[weak.Pointer[flows.Flow]]map[fileKey][]int16)}
}

func (fc *fileCache) load(f *flows.Flow, path string, rate int) ([]int16, error) {
	wp := weak.Make(f)
	k := fileKey{path, rate}
	fc.mu.Lock()
	pcm, ok := fc.flows[wp][k]
	fc.mu.Unlock()
	if ok {
		return pcm, nil
	}
	file, err := f.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open prompt %s: %w", path, err)
	}
	defer file.Close()
	pcm, fileRate, err := audio.ReadWAV(file)
	if err != nil {
		return nil, fmt.Errorf("read prompt %s: %w", path, err)
	}
	if fileRate != rate {
		if pcm, err = audio.Resample(pcm, fileRate, rate); err != nil {
			return nil, fmt.Errorf("resample prompt %s from %d Hz: %w", path, fileRate, err)
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	m := fc.flows[wp]
	if m == nil {
		m = make(map[fileKey][]int16)
		fc.flows[wp] = m
		runtime.AddCleanup(f, fc.forget, wp)
	}
	if old, ok := m[k]; ok {
		return old, nil // another call loaded it meanwhile: share one copy
	}
	m[k] = pcm
	return pcm, nil
}

// forget drops the entries of a flow the garbage collector freed.
func (fc *fileCache) forget(wp weak.Pointer[flows.Flow]) {
	fc.mu.Lock()
	delete(fc.flows, wp)
	fc.mu.Unlock()
}

// len is the number of flows with cached files, for tests.
func (fc *fileCache) len() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return len(fc.flows)
}
