package ivr

// Asking the caller: the attempt loop gather, menu, intent and survey nodes share
// (prompt, wait for keys or speech, re-prompt on no input or an invalid answer), and
// digit collection with the type-ahead buffer.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// keySpec says how keys are collected for one answer.
type keySpec struct {
	min, max          int
	finish            byte // 0: none
	timeout, interKey time.Duration
}

// reply is one answer of the caller.
type reply struct {
	pressed bool   // keys were pressed (the finish key alone counts)
	digits  string // the keys, without the finish key
	spoke   bool   // the caller spoke
	text    string // the transcript
	conf    float64
}

// question is one node's way of asking.
type question struct {
	node                     *flows.Node
	what                     string // the node type, for messages
	prompt, noInput, noMatch *flows.Prompt
	voices                   map[string]string
	bargeIn                  bool
	retries                  int
	dtmf, speech             bool
	sp                       *flows.Speech
	hints                    []string
	keys                     keySpec
	timeout, speechMax       time.Duration
	// check judges a reply: true accepts it, false makes the attempt a no-match.
	check func(ctx context.Context, r reply) (bool, error)
}

// input returns what a node's input field allows, with the recognizer the runtime
// has: speech without a recognizer is an error; dtmf_speech without one falls back
// to keys, with a warning, since its prompt offers keys too.
func (c *call) inputModes(n *flows.Node, input string) (dtmf, speech bool, err error) {
	switch input {
	case flows.InputSpeech:
		dtmf, speech = false, true
	case flows.InputDTMFSpeech:
		dtmf, speech = true, true
	default:
		return true, false, nil
	}
	if c.rt.recognizer == nil {
		if !dtmf {
			return false, false, missing(n.Type + " node: no speech recognizer configured (input: speech)")
		}
		c.log.Warn(n.Type+" node: no speech recognizer configured; taking keys only (input: dtmf_speech)", "node", n.Name)
		return true, false, nil
	}
	return dtmf, speech, nil
}

// ask runs q's attempts and returns the accepted reply and OutcomeOK, or the last
// failure (OutcomeNoInput or OutcomeNoMatch) once the retries are spent.
func (c *call) ask(ctx context.Context, fr *frame, q *question) (reply, flows.Outcome, error) {
	if err := c.answer(ctx); err != nil { // early media ends where input begins
		return reply{}, "", err
	}
	failure := flows.OutcomeNoInput
	for attempt := 0; attempt <= q.retries; attempt++ {
		r, err := c.attempt(ctx, fr, q, attempt, failure)
		if err != nil {
			return reply{}, "", err
		}
		switch {
		case !r.pressed && !r.spoke:
			failure = flows.OutcomeNoInput
			c.log.Info(q.what+": no input", "node", q.node.Name, "attempt", attempt+1)
			continue
		case r.pressed && len(r.digits) < q.keys.min:
			failure = flows.OutcomeNoMatch
			c.log.Info(q.what+": too few digits", "node", q.node.Name, "digits", r.digits, "attempt", attempt+1)
			continue
		case r.spoke && r.text == "":
			failure = flows.OutcomeNoMatch
			c.log.Info(q.what+": speech not understood", "node", q.node.Name, "attempt", attempt+1)
			continue
		}
		ok, err := q.check(ctx, r)
		if err != nil {
			return reply{}, "", err
		}
		if ok {
			return r, flows.OutcomeOK, nil
		}
		failure = flows.OutcomeNoMatch
		c.log.Info(q.what+": no match", "node", q.node.Name, "digits", r.digits, "speech", r.text, "attempt", attempt+1)
	}
	// Between attempts, digits typed ahead are kept: a caller who pressed 9 then 1
	// corrects themself and 1 is the next attempt's choice. Once every attempt failed
	// the flow leaves the node for its failure path; what is still buffered (or queued
	// in the channel) was typed into a node that rejected it, and must neither skip the
	// failure path's prompts (barge-in) nor be taken as a choice at the next menu.
	c.discardInput()
	return reply{}, failure, nil
}

// attempt is one try: the re-prompt after a failure, the prompt, the wait.
func (c *call) attempt(ctx context.Context, fr *frame, q *question, n int, failure flows.Outcome) (reply, error) {
	var l *listening
	defer func() { l.close() }()
	start := func() error {
		if l != nil || !q.speech {
			return nil
		}
		var err error
		l, err = c.listen(ctx, fr, q.node, q.sp, q.hints)
		return err
	}
	if q.bargeIn { // speech during the prompts stops them
		if err := start(); err != nil {
			return reply{}, err
		}
	}
	if n > 0 {
		reprompt := q.noInput
		if failure == flows.OutcomeNoMatch {
			reprompt = q.noMatch
		}
		if err := c.speakPrompt(ctx, fr, reprompt, q.voices, q.bargeIn, l); err != nil {
			return reply{}, err
		}
	}
	if err := c.speakPrompt(ctx, fr, q.prompt, q.voices, q.bargeIn, l); err != nil {
		return reply{}, err
	}
	if err := start(); err != nil {
		return reply{}, err
	}
	if q.speech {
		spoke, key, err := c.awaitSpeech(ctx, l, q.timeout, q.speechMax, q.dtmf)
		if err != nil {
			return reply{}, fmt.Errorf("speech recognition: %w", err)
		}
		if !key {
			r := reply{spoke: spoke, text: strings.TrimSpace(l.text), conf: l.conf}
			c.heardSpeech(ctx, fr, r.text)
			return r, nil
		}
		l.close() // the caller answers with keys
		l = nil
	}
	if !q.dtmf {
		return reply{}, nil
	}
	digits, pressed, err := c.collect(ctx, q.keys)
	return reply{pressed: pressed, digits: digits}, err
}

// gatherNode collects digits or speech into the node's variable, or with a branch
// routes the digits.
func (c *call) gatherNode(ctx context.Context, fr *frame, n *flows.Node, g *flows.Gather) (string, error) {
	dtmf, speech, err := c.inputModes(n, g.Input)
	if err != nil {
		return "", err
	}
	var finish byte
	if g.FinishKey != "" {
		finish = g.FinishKey[0]
	}
	q := &question{
		node: n, what: "gather", prompt: g.PromptMsg, noInput: g.NoInputMsg,
		noMatch: g.NoMatchMsg, voices: g.Voices, bargeIn: g.BargeIn,
		retries: g.Retries, dtmf: dtmf, speech: speech, sp: g.Speech,
		keys:    keySpec{min: g.MinDigits, max: g.MaxDigits, finish: finish, timeout: g.Timeout, interKey: g.InterDigitTimeout},
		timeout: g.Timeout, speechMax: speechTimeout(fr, g.Speech),
	}
	if speech {
		q.hints = hints(fr.flow, g.Speech, fr.lang())
	}
	var target string
	q.check = func(ctx context.Context, r reply) (bool, error) {
		value := r.digits
		if r.spoke {
			value = r.text
		}
		if len(n.Branch) > 0 {
			t, ok := n.Branch[value]
			if !ok {
				return false, nil
			}
			target = t
		}
		old := fr.vars[g.Var]
		if err := fr.setVar(g.Var, value); err != nil {
			return false, err
		}
		if g.Confirm == nil {
			return true, nil
		}
		ok, err := c.confirm(ctx, fr, g)
		if !ok || err != nil {
			fr.vars[g.Var] = old // unconfirmed input is not kept
		}
		return ok, err
	}
	r, outcome, err := c.ask(ctx, fr, q)
	if err != nil {
		return "", err
	}
	if outcome != flows.OutcomeOK {
		return route(n, outcome)
	}
	if target != "" {
		c.log.Info("gather: choice", "node", n.Name, "digits", r.digits, "next", target)
		return target, nil
	}
	c.log.Info("gather: input", "node", n.Name, "var", g.Var, "digits", r.digits, "speech", r.text)
	return route(n, flows.OutcomeOK)
}

// confirm reads a gather's answer back and waits for the yes or no key. Any other
// key, or none, is a rejection: the gather counts the attempt as a no-match.
func (c *call) confirm(ctx context.Context, fr *frame, g *flows.Gather) (bool, error) {
	cf := g.Confirm
	if err := c.speakPrompt(ctx, fr, cf.Prompt, g.Voices, g.BargeIn, nil); err != nil {
		return false, err
	}
	timeout := cf.Timeout
	if timeout <= 0 {
		timeout = g.Timeout
	}
	key, pressed, err := c.collect(ctx, keySpec{min: 1, max: 1, timeout: timeout, interKey: timeout})
	if err != nil {
		return false, err
	}
	yes := key == cf.Yes
	c.log.Info("gather: confirmation", "key", key, "pressed", pressed, "confirmed", yes)
	return yes, nil
}

// menuNode routes the caller's choice: a key of the choices, or with speech a
// phrase of one.
func (c *call) menuNode(ctx context.Context, fr *frame, n *flows.Node, m *flows.Menu) (string, error) {
	dtmf, speech, err := c.inputModes(n, m.Input)
	if err != nil {
		return "", err
	}
	lang := fr.lang()
	q := &question{
		node: n, what: "menu", prompt: m.Prompt, noInput: m.NoInputPrompt, noMatch: m.NoMatchPrompt,
		voices: m.Voices, bargeIn: m.BargeIn, retries: m.Retries, dtmf: dtmf, speech: speech, sp: m.Speech,
		keys:    keySpec{min: 1, max: 1, timeout: m.Timeout, interKey: m.Timeout},
		timeout: m.Timeout, speechMax: speechTimeout(fr, m.Speech),
	}
	if speech {
		var phrases []string
		for _, k := range m.Keys {
			if ch := m.Choices[k]; ch != nil {
				phrases = append(phrases, phrasesIn(fr.flow, ch.Phrases, lang)...)
			}
		}
		q.hints = hints(fr.flow, m.Speech, lang, phrases)
	}
	var key string
	q.check = func(_ context.Context, r reply) (bool, error) {
		if r.spoke {
			key = matchChoice(fr.flow, m, r.text, fr.lang())
		} else {
			key = r.digits
		}
		_, ok := n.Branch[key]
		return ok, nil
	}
	r, outcome, err := c.ask(ctx, fr, q)
	if err != nil {
		return "", err
	}
	if outcome != flows.OutcomeOK {
		return route(n, outcome)
	}
	if err := fr.setVar(m.Var, key); err != nil {
		return "", err
	}
	c.log.Info("menu: choice", "node", n.Name, "key", key, "speech", r.text, "next", n.Branch[key])
	return n.Branch[key], nil
}

// speechTimeout is the longest answer of a node's speech settings.
func speechTimeout(fr *frame, sp *flows.Speech) time.Duration {
	if sp != nil && sp.Timeout > 0 {
		return sp.Timeout
	}
	return fr.flow.Timeouts.Speech
}

// collect reads up to k.max digits: the first within k.timeout, each next within
// k.interKey; the finish key ends input early and is not part of the value.
// pressed reports whether the caller pressed any key, the finish key included: a lone
// finish key is input with too few digits (a no-match), not silence (a no-input).
func (c *call) collect(ctx context.Context, k keySpec) (digits string, pressed bool, err error) {
	buf := make([]byte, 0, k.max)
	timeout := k.timeout
	for len(buf) < k.max {
		d, ok, err := c.waitDigit(ctx, timeout)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return string(buf), pressed, nil
		}
		pressed = true
		if k.finish != 0 && d == k.finish {
			return string(buf), true, nil
		}
		buf = append(buf, d)
		timeout = k.interKey
	}
	// Full: a finish key typed after the last digit still belongs to this input.
	if k.finish != 0 {
		switch {
		case len(c.typeahead) > 0 && c.typeahead[0] == k.finish:
			c.typeahead = c.typeahead[1:]
		case len(c.typeahead) == 0:
			c.pendingFinish = k.finish
		}
	}
	return string(buf), true, nil
}

// waitDigit returns the next digit, from the type-ahead buffer first, or false when
// timeout passes without one. The timer starts here, when the caller has heard the
// whole prompt (or barged in), and is stopped on every return.
func (c *call) waitDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	if len(c.typeahead) > 0 {
		d := c.typeahead[0]
		c.typeahead = c.typeahead[1:]
		return d, true, nil
	}
	t := c.rt.timers.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case d, ok := <-c.digits:
			if !ok {
				c.digits = nil // no more digits will come: wait out the timeout
				continue
			}
			if !c.keep(d) {
				continue
			}
			return d, true, nil
		case <-t.C():
			return 0, false, nil
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}
