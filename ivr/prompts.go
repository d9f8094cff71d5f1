package ivr

import (
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"weak"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
)

// speakPrompt says or plays prompt pr in the call's language (falling back to the
// flow's): a text prompt through the synthesizer with the node's voice for that
// language, a file prompt from the flow's files. A nil prompt says nothing. l, when
// set, is the speech recognition listening during the prompt (see play).
func (c *call) speakPrompt(ctx context.Context, fr *frame, pr *flows.Prompt, voices map[string]string, bargeIn bool, l *listening) error {
	pt := pr.For(fr.lang())
	if pt == nil {
		return nil
	}
	if pt.File != "" {
		return c.playFile(ctx, fr.flow, pt.File, bargeIn, l)
	}
	lang := pt.Lang
	if lang == "" {
		lang = fr.lang()
	}
	text, err := c.promptText(fr, pt.Text, lang)
	if err != nil {
		return fmt.Errorf("render prompt: %w", err)
	}
	return c.say(ctx, fr, text, fr.voice(voices, lang), bargeIn, l)
}

// promptText renders a prompt's template, text in language lang, for the
// synthesizer: an SSML document (see SSMLSynthesizer) when the text has markup and
// the synthesizer takes it, else plain text. "" means there is nothing to say (an
// interpolation that came out empty).
func (c *call) promptText(fr *frame, t *flows.Template, lang string) (string, error) {
	if t == nil {
		return "", nil
	}
	if c.rt.ssml && t.SSML {
		s, err := t.Render(fr.vars)
		if err != nil || strings.TrimSpace(stripTags(s)) == "" {
			return "", err
		}
		return ssmlDocument(s, fr.flow, lang), nil
	}
	s, err := t.Text(fr.vars)
	if err != nil || strings.TrimSpace(s) == "" {
		return "", err
	}
	if c.rt.ssml && strings.HasPrefix(strings.TrimSpace(s), "<") {
		// Plain text an SSML synthesizer could take for markup (a value from a web
		// service, say): send it escaped, as a document.
		var b strings.Builder
		xml.EscapeText(&b, []byte(s))
		return ssmlDocument(b.String(), fr.flow, lang), nil
	}
	return s, nil
}

var langOpenRE = regexp.MustCompile(`<lang\s+xml:lang\s*=\s*["']([^"']*)["']\s*>`)

// ssmlDocument wraps an SSML fragment of a prompt of flow f, text in language lang,
// in a speak element, and gives each lang element the flow's voice for its language,
// so the synthesizer speaks "<lang xml:lang="zh">" with the voice f declares for zh.
func ssmlDocument(fragment string, f *flows.Flow, lang string) string {
	body := langOpenRE.ReplaceAllStringFunc(fragment, func(tag string) string {
		code := langOpenRE.FindStringSubmatch(tag)[1]
		return tag + `<voice name="` + html.EscapeString(f.VoiceFor(code)) + `">`
	})
	body = strings.ReplaceAll(body, "</lang>", "</voice></lang>")
	return `<speak xml:lang="` + html.EscapeString(lang) + `">` + body + `</speak>`
}

// stripTags removes markup from an SSML fragment, to tell whether it has anything
// to say.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// say speaks text. Prompt audio is cached by the Synthesizer, so only the first call
// pays for synthesis. A barge-in prompt is skipped when the caller has already typed
// ahead (or started speaking): they know what they want and must not be made to
// listen.
func (c *call) say(ctx context.Context, fr *frame, text, voice string, bargeIn bool, l *listening) error {
	if text == "" {
		c.log.Debug("prompt rendered empty; nothing to say")
		return nil
	}
	if bargeIn && (c.typedAhead() || l.heard()) {
		return nil
	}
	if voice == "" {
		voice = fr.flow.Voice // the loader applies it already; kept for hand-built flows
	}
	pcm, err := c.rt.synth.Synthesize(ctx, text, voice, c.ch.SampleRate())
	if err != nil {
		return fmt.Errorf("synthesize prompt: %w", err)
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn, l)
}

// playFile plays a WAV file of flow f at the call's rate; see say for barge-in.
func (c *call) playFile(ctx context.Context, f *flows.Flow, path string, bargeIn bool, l *listening) error {
	if bargeIn && (c.typedAhead() || l.heard()) {
		return nil
	}
	pcm, err := c.rt.prompts.load(f, path, c.ch.SampleRate())
	if err != nil {
		return err
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn, l)
}

// play sends src while collecting digits into the type-ahead buffer. With bargeIn a
// digit stops the prompt (within one media clock tick) and play returns nil: the
// prompt did its job, the caller answered it; the digit stays buffered for the next
// gather, so nothing the caller pressed is lost. Without bargeIn the prompt plays to
// the end and the digits are still buffered. With a listening recognizer, its events
// are taken in too, and the caller starting to speak stops a barge-in prompt the
// same way. play returns only after the channel's Play has returned, so no goroutine
// outlives it.
func (c *call) play(ctx context.Context, src media.Source, bargeIn bool, l *listening) error {
	if !c.prompted {
		c.prompted = true
		c.rt.metrics.prompted(c.rt.clock().Sub(c.started))
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.ch.Play(pctx, src) }()
	stop := func(why string) error {
		cancel()
		<-done // its error is the cancellation we asked for
		c.log.Debug("prompt interrupted", "by", why)
		return ctx.Err()
	}
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
				return stop("digit " + string(d))
			}
		case ev, ok := <-l.events():
			l.take(ev, ok)
			if bargeIn && l.heard() {
				return stop("speech")
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
