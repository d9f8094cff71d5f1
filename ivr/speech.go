package ivr

// Speech input: one recognition stream per answer, fed the caller's audio, whose
// events the prompt player and the input wait take in.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// finishGrace is how long the runtime waits for a final result after it called
// SpeechStream.Finish: the recognizer has the audio already and only has to decode
// its end.
const finishGrace = 2 * time.Second

// listening is one open recognition stream and what it reported so far. A nil
// *listening is valid and hears nothing, so prompt code takes one unconditionally.
type listening struct {
	stream    SpeechStream
	stopAudio func()
	ch        <-chan SpeechEvent // nil once the final result (or the end) came

	started bool // the caller started talking
	final   bool // the final result came
	text    string
	conf    float64
	partial string
	err     error
}

// events returns the channel to select on: nil (never ready) when there is nothing
// more to hear.
func (l *listening) events() <-chan SpeechEvent {
	if l == nil {
		return nil
	}
	return l.ch
}

// heard reports whether the caller has spoken (or an answer came).
func (l *listening) heard() bool { return l != nil && (l.started || l.final) }

// take records one event received from events (ok false: the channel closed).
func (l *listening) take(ev SpeechEvent, ok bool) {
	if !ok {
		l.ch = nil
		return
	}
	switch ev.Type {
	case SpeechStarted:
		l.started = true
	case SpeechPartial:
		l.started = true
		l.partial = ev.Text
	case SpeechFinal:
		l.final, l.text, l.conf = true, ev.Text, ev.Confidence
		l.ch = nil
	case SpeechError:
		l.err = ev.Err
		if l.err == nil {
			l.err = errors.New("the recognizer reported an error")
		}
		l.ch = nil
	}
}

// close stops the audio feed, then the stream.
func (l *listening) close() {
	if l == nil {
		return
	}
	if l.stopAudio != nil {
		l.stopAudio()
	}
	_ = l.stream.Close()
}

// listen opens a recognition stream for one answer of node n and starts feeding it
// the caller's audio.
func (c *call) listen(ctx context.Context, fr *frame, n *flows.Node, sp *flows.Speech, hints []string) (*listening, error) {
	if sp == nil {
		sp = &flows.Speech{}
	}
	lang := sp.Language
	if lang == "" {
		lang = fr.lang()
	}
	maxDur := sp.Timeout
	if maxDur <= 0 {
		maxDur = fr.flow.Timeouts.Speech
	}
	req := SpeechRequest{
		CallID: c.ch.ID(), Flow: fr.flow.Name, Node: n.Name, Language: lang,
		SampleRate: c.ch.SampleRate(), Phrases: hints, Backend: sp.Backend, MaxDuration: maxDur,
		Fallback: sp.FallbackBackend, LatencyBudget: sp.LatencyBudget, MinSpeech: sp.MinSpeech,
	}
	stream, err := c.rt.recognizer.Recognize(ctx, req)
	if err != nil && sp.FallbackBackend != "" && sp.FallbackBackend != sp.Backend {
		c.log.Warn("speech recognizer failed; trying the fallback", "node", n.Name, "backend", sp.Backend, "fallback", sp.FallbackBackend, "error", err)
		req.Backend, req.Fallback = sp.FallbackBackend, ""
		stream, err = c.rt.recognizer.Recognize(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("start speech recognition (%s): %w", lang, err)
	}
	l := &listening{stream: stream, ch: stream.Events()}
	if ca, ok := c.ch.(CallerAudio); ok {
		l.stopAudio = ca.ListenAudio(stream)
	} else if !c.noAudio {
		c.noAudio = true
		c.log.Warn("the call leg gives no caller audio: the speech recognizer hears nothing from it", "node", n.Name)
	}
	return l, nil
}

// hints returns the recognition hints of a node: its speech phrases in lang (else
// the flow's language), the flow's intents' phrases when speech.intents is set, and
// extra.
func hints(f *flows.Flow, sp *flows.Speech, lang string, extra ...[]string) []string {
	var out []string
	pick := func(p flows.Phrases) []string {
		if l := p[lang]; len(l) > 0 {
			return l
		}
		return p[f.Language]
	}
	if sp != nil {
		out = append(out, pick(sp.Phrases)...)
		if sp.Intents {
			for _, name := range sortedKeys(f.Intents) {
				out = append(out, pick(f.Intents[name].Phrases)...)
			}
		}
	}
	for _, e := range extra {
		out = append(out, e...)
	}
	return out
}

// awaitSpeech waits, after the prompt, for l's answer: the caller must start within
// timeout, and an answer that lasts longer than the stream's MaxDuration is finished
// early. When dtmf is set a key press wins over speech not yet started, and waitSpeech
// returns with key set (the key is in the type-ahead buffer). It returns whether the
// caller spoke (heard) and the transcript.
func (c *call) awaitSpeech(ctx context.Context, l *listening, timeout, maxDur time.Duration, dtmf bool) (heard, key bool, err error) {
	if l.final || l.err != nil {
		return l.heard(), false, l.err
	}
	if dtmf && len(c.typeahead) > 0 && !l.started {
		return false, true, nil
	}
	wait := timeout
	if l.started {
		wait = maxDur
	}
	t := c.rt.timers.NewTimer(wait)
	defer t.Stop()
	finishing := false
	for {
		select {
		case d, ok := <-c.digits:
			if !ok {
				c.digits = nil
				continue
			}
			if !c.keep(d) {
				continue
			}
			c.typeahead = append(c.typeahead, d)
			if dtmf && !l.started {
				return false, true, nil
			}
		case ev, ok := <-l.events():
			wasStarted := l.started
			l.take(ev, ok)
			switch {
			case l.err != nil:
				return l.heard(), false, l.err
			case l.final:
				return true, false, nil
			case l.ch == nil: // the stream ended without a result
				return l.started, false, nil
			case l.started && !wasStarted && !finishing:
				t.Reset(maxDur) // the answer may last maxDur from its start
			}
		case <-t.C():
			switch {
			case !l.started:
				return false, false, nil
			case !finishing:
				finishing = true
				l.stream.Finish()
				t.Reset(finishGrace)
			default: // no final result: take what was heard so far
				l.text, l.final = l.partial, true
				return true, false, nil
			}
		case <-ctx.Done():
			return false, false, ctx.Err()
		}
	}
}

// heardSpeech records a transcript: in the transcript variable, the call's
// transcript, and the sentiment variable when a SentimentAnalyzer is wired.
func (c *call) heardSpeech(ctx context.Context, fr *frame, text string) {
	if text == "" {
		return
	}
	fr.vars["transcript"] = text
	c.rec.transcript = append(c.rec.transcript, text)
	c.scoreSentiment(ctx, fr, text)
}
