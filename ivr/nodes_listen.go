package ivr

// The nodes that listen for more than a key: intent, survey, record.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/vad"
)

// classifierFor returns the classifier of flow f's intent nodes: the wired one, or
// the one it trains for f (FlowClassifier), once per loaded flow.
func (c *call) classifierFor(f *flows.Flow) (Classifier, error) {
	cl := c.rt.classifier
	if cl == nil {
		return nil, missing("intent node: no intent classifier configured")
	}
	fc, ok := cl.(FlowClassifier)
	if !ok {
		return cl, nil
	}
	out, err := c.rt.classifiers.get(f, func() (Classifier, error) { return fc.ForFlow(f) })
	if err != nil {
		return nil, fmt.Errorf("intent node: train the classifier for flow %s: %w", f.Name, err)
	}
	return out, nil
}

// intentNode classifies what the caller says (or a text) and routes by the intent.
func (c *call) intentNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Intent) (string, error) {
	cl, err := c.classifierFor(fr.flow)
	if err != nil {
		return "", err
	}
	var target string
	classify := func(ctx context.Context, text string) (bool, error) {
		intent, conf, err := cl.Classify(ctx, text, fr.lang())
		if err != nil {
			return false, fmt.Errorf("intent node: classify: %w", err)
		}
		t, routed := n.Branch[intent]
		ok := routed && conf >= a.Threshold && (len(a.Intents) == 0 || slices.Contains(a.Intents, intent))
		c.log.Info("intent: classified", "node", n.Name, "intent", intent, "confidence", conf, "threshold", a.Threshold, "accepted", ok)
		fr.vars["intent_confidence"] = conf
		if !ok {
			fr.vars["intent"] = ""
			return false, nil
		}
		fr.vars["intent"] = intent
		target = t
		return true, nil
	}
	if a.Text != nil {
		v, err := a.Text.Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("intent node: text: %w", err)
		}
		text := strings.TrimSpace(formatValue(v))
		if text == "" {
			return route(n, flows.OutcomeNoInput)
		}
		fr.vars["transcript"] = text
		c.scoreSentiment(ctx, fr, text)
		ok, err := classify(ctx, text)
		switch {
		case err != nil:
			return "", err
		case !ok:
			return route(n, flows.OutcomeNoMatch)
		}
		return target, nil
	}
	if c.rt.recognizer == nil {
		return "", missing("intent node: no speech recognizer configured")
	}
	lang := fr.lang()
	var phrases []string
	for _, name := range a.Intents {
		if d := fr.flow.Intents[name]; d != nil {
			phrases = append(phrases, phrasesIn(fr.flow, d.Phrases, lang)...)
		}
	}
	q := &question{
		node: n, what: "intent", prompt: a.Prompt, noInput: a.NoInputPrompt, noMatch: a.NoMatchPrompt,
		voices: a.Voices, bargeIn: a.BargeIn, retries: a.Retries, speech: true, sp: a.Speech,
		hints: hints(fr.flow, a.Speech, lang, phrases), timeout: a.Timeout, speechMax: speechTimeout(fr, a.Speech),
	}
	q.check = func(ctx context.Context, r reply) (bool, error) { return classify(ctx, r.text) }
	_, outcome, err := c.ask(ctx, fr, q)
	if err != nil {
		return "", err
	}
	if outcome != flows.OutcomeOK {
		return route(n, outcome)
	}
	return target, nil
}

// surveyNode asks each question for a score from 1 to 5 and stores the answers.
func (c *call) surveyNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Survey) (string, error) {
	dtmf, speech, err := c.inputModes(n, a.Input)
	if err != nil {
		return "", err
	}
	lang := fr.lang()
	for i, sq := range a.Questions {
		q := &question{
			node: n, what: "survey", prompt: sq.Prompt, noInput: a.NoInputPrompt, noMatch: a.NoMatchPrompt,
			voices: a.Voices, bargeIn: a.BargeIn, retries: a.Retries, dtmf: dtmf, speech: speech, sp: a.Speech,
			keys:    keySpec{min: 1, max: 1, timeout: a.Timeout, interKey: a.Timeout},
			timeout: a.Timeout, speechMax: speechTimeout(fr, a.Speech),
		}
		if speech {
			q.hints = hints(fr.flow, a.Speech, lang, scoreWords(lang))
		}
		score := 0
		q.check = func(_ context.Context, r reply) (bool, error) {
			var v int
			var ok bool
			if r.spoke {
				v, ok = spokenNumber(normalize(r.text))
			} else {
				v, _ = strconv.Atoi(r.digits)
				ok = true
			}
			if !ok || v < 1 || v > 5 {
				return false, nil
			}
			score = v
			return true, nil
		}
		_, outcome, err := c.ask(ctx, fr, q)
		if err != nil {
			return "", err
		}
		if outcome != flows.OutcomeOK {
			c.log.Info("survey: question unanswered", "node", n.Name, "question", i+1, "outcome", outcome)
			return route(n, flows.OutcomeNoInput)
		}
		if err := fr.setVar(sq.Var, score); err != nil {
			return "", err
		}
		if i == 0 {
			fr.vars["survey_score"] = score
		}
		c.rec.survey = append(c.rec.survey, SurveyAnswer{Node: n.Name, Var: sq.Var, Score: score})
		c.log.Info("survey: answer", "node", n.Name, "question", i+1, "var", sq.Var, "score", score)
	}
	return route(n, flows.OutcomeOK)
}

// scoreWords are the survey answers a recognizer should expect in lang.
func scoreWords(lang string) []string {
	if strings.HasPrefix(lang, "zh") {
		return []string{"一", "二", "三", "四", "五", "一分", "两分", "三分", "四分", "五分"}
	}
	return []string{"one", "two", "three", "four", "five"}
}

// scoreSentiment sets the sentiment variable from text, when an analyzer is wired.
func (c *call) scoreSentiment(ctx context.Context, fr *frame, text string) {
	if c.rt.sentiment == nil || text == "" {
		return
	}
	s, err := c.rt.sentiment.Sentiment(ctx, text, fr.lang())
	if err != nil {
		c.log.Warn("sentiment analysis failed; sentiment unchanged", "error", err)
		return
	}
	fr.vars["sentiment"] = max(-1, min(1, s))
}

// finishTimeout bounds storing a recording after the caller hung up.
const finishTimeout = 10 * time.Second

// recordNode records the caller: the prompt, a beep, then the caller's audio into a
// Recording until the finish key, max_length, end_on_silence of silence, or the
// caller hanging up (which keeps what was said). A recording of nothing but silence
// is discarded: the no_input outcome.
func (c *call) recordNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Record) (string, error) {
	if c.rt.recorder == nil {
		return "", missing("record node: no recorder configured")
	}
	ca, ok := c.ch.(CallerAudio)
	if !ok {
		return "", missing("record node: the call leg gives no caller audio")
	}
	if err := c.answer(ctx); err != nil {
		return "", err
	}
	if err := c.speakPrompt(ctx, fr, a.Prompt, a.Voices, true, nil); err != nil {
		return "", err
	}
	rate := c.ch.SampleRate()
	if a.Beep {
		if err := c.play(ctx, media.NewClip(audio.Tone(1000, rate, 400*time.Millisecond, 0.5)), false, nil); err != nil {
			return "", err
		}
	}
	c.discardInput() // a key that skipped the greeting is not the finish key
	maxLen := a.MaxLength
	if maxLen <= 0 {
		maxLen = fr.flow.Timeouts.Record
	}
	rec, err := c.rt.recorder.StartRecording(ctx, RecordingRequest{
		CallID: c.ch.ID(), Caller: c.ch.Caller(), Flow: fr.flow.Name, Node: n.Name, SampleRate: rate, MaxLength: maxLen,
	})
	if err != nil {
		return "", fmt.Errorf("record node: start recording: %w", err)
	}
	sink := newRecordSink(rec, rate, a.EndOnSilence, c)
	stop := ca.ListenAudio(sink)
	why := c.recordUntil(ctx, sink, a.FinishKey, maxLen)
	stop()
	heard := sink.heard.Load()
	c.log.Info("record: stopped", "node", n.Name, "why", why, "heard", heard)
	if ctx.Err() != nil {
		if heard { // a caller hanging up after their message keeps it
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
			defer cancel()
			if ref, err := rec.Finish(fctx); err != nil {
				c.log.Error("record: store recording after hang-up", "error", err)
			} else {
				_ = fr.setVar(a.Var, ref)
				c.rec.recordings = append(c.rec.recordings, ref)
			}
		} else {
			_ = rec.Discard(context.WithoutCancel(ctx))
		}
		return "", ctx.Err()
	}
	if !heard {
		if err := rec.Discard(ctx); err != nil {
			c.log.Warn("record: discard silent recording", "error", err)
		}
		return route(n, flows.OutcomeNoInput)
	}
	ref, err := rec.Finish(ctx)
	if err != nil {
		return "", fmt.Errorf("record node: store recording: %w", err)
	}
	if err := fr.setVar(a.Var, ref); err != nil {
		return "", err
	}
	c.rec.recordings = append(c.rec.recordings, ref)
	return route(n, flows.OutcomeOK)
}

// recordUntil waits for the end of a recording and says why it ended.
func (c *call) recordUntil(ctx context.Context, sink *recordSink, finishKey string, maxLen time.Duration) string {
	t := c.rt.timers.NewTimer(maxLen)
	defer t.Stop()
	for {
		select {
		case d, ok := <-c.digits:
			if !ok {
				c.digits = nil
				continue
			}
			if finishKey != "" && d == finishKey[0] {
				return "finish key"
			}
		case <-sink.silence:
			return "silence"
		case <-t.C():
			return "max length"
		case <-ctx.Done():
			return "hang-up"
		}
	}
}

// recordSink feeds a Recording and watches the audio for speech: end_on_silence
// counts from the start, or from the end of the last speech. It runs on the media
// path: its detection does not allocate and never blocks.
type recordSink struct {
	rec     Recording
	det     *vad.Detector // nil at rates the detector does not take: a level threshold instead
	chunk   []int16       // one detector frame being filled
	fill    int
	silent  int // samples of silence so far
	endAt   int // samples of silence that end the recording
	hang    int // samples the detector waits before reporting the end of speech
	talking bool

	heard   atomic.Bool
	silence chan struct{} // closed once end_on_silence of silence passed
	once    sync.Once
}

// soundDBFS is the level above which the fallback detector calls a frame sound.
const soundDBFS = -35

func newRecordSink(rec Recording, rate int, endOnSilence time.Duration, c *call) *recordSink {
	if endOnSilence <= 0 {
		endOnSilence = flows.DefaultEndOnSilence
	}
	const frame, hangover = 10 * time.Millisecond, 300 * time.Millisecond
	s := &recordSink{rec: rec, silence: make(chan struct{}), endAt: int(int64(rate) * int64(endOnSilence) / int64(time.Second))}
	det, err := vad.New(vad.Config{SampleRate: rate, FrameDuration: frame, MinSilence: hangover})
	if err != nil {
		c.log.Warn("record: no speech detector at this rate; using a level threshold", "rate", rate, "error", err)
		det = nil
	} else {
		s.hang = int(int64(rate) * int64(hangover) / int64(time.Second))
	}
	s.det = det
	s.chunk = make([]int16, int(int64(rate)*int64(frame)/int64(time.Second)))
	return s
}

func (s *recordSink) WriteSample(pcm []int16) error {
	err := s.rec.WriteSample(pcm)
	for len(pcm) > 0 {
		n := copy(s.chunk[s.fill:], pcm)
		s.fill += n
		pcm = pcm[n:]
		if s.fill == len(s.chunk) {
			s.fill = 0
			s.detect(s.chunk)
		}
	}
	return err
}

// detect judges one frame and counts silence.
func (s *recordSink) detect(frame []int16) {
	if s.det != nil {
		switch s.det.Process(frame) {
		case vad.SpeechStart:
			s.talking = true
			s.heard.Store(true)
			s.silent = 0
		case vad.SpeechEnd:
			s.talking = false
			s.silent = s.hang // the detector waited this long before saying so
		}
	} else if audio.DBFS(frame) > soundDBFS {
		s.heard.Store(true)
		s.silent = 0
		return
	}
	if s.talking {
		return
	}
	s.silent += len(frame)
	if s.silent >= s.endAt {
		s.once.Do(func() { close(s.silence) })
	}
}
