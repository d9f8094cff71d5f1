package ivr

import (
	"context"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// gather plays the prompt and collects digits, re-prompting on no input or an invalid
// choice until the retries are spent. With a branch table the collected value picks
// the next node; without one it lands in the node's variable and the flow goes on.
func (c *call) gather(ctx context.Context, n *flows.Node, g *flows.Gather) (string, error) {
	if err := c.answer(ctx); err != nil { // early media ends where input begins
		return "", err
	}
	failure := flows.OutcomeNoInput
	for attempt := 0; attempt <= g.Retries; attempt++ {
		if attempt > 0 {
			reprompt := g.NoInputPrompt
			if failure == flows.OutcomeNoMatch {
				reprompt = g.NoMatchPrompt
			}
			if reprompt != "" {
				if err := c.say(ctx, reprompt, g.Voice, g.BargeIn); err != nil {
					return "", err
				}
			}
		}
		if err := c.prompt(ctx, g); err != nil {
			return "", err
		}
		digits, pressed, err := c.collect(ctx, g)
		if err != nil {
			return "", err
		}
		switch {
		case !pressed:
			failure = flows.OutcomeNoInput
			c.log.Info("gather: no input", "node", n.Name, "attempt", attempt+1)
			continue
		case len(digits) < g.MinDigits:
			failure = flows.OutcomeNoMatch
			c.log.Info("gather: too few digits", "node", n.Name, "digits", digits, "attempt", attempt+1)
			continue
		}
		if len(n.Branch) > 0 {
			target, ok := n.Branch[digits]
			if !ok {
				failure = flows.OutcomeNoMatch
				c.log.Info("gather: no matching choice", "node", n.Name, "digits", digits, "attempt", attempt+1)
				continue
			}
			c.vars[g.Var] = digits
			c.log.Info("gather: choice", "node", n.Name, "digits", digits, "next", target)
			return target, nil
		}
		c.vars[g.Var] = digits
		c.log.Info("gather: digits", "node", n.Name, "digits", digits)
		return n.Routes[flows.OutcomeOK], nil
	}
	// Between attempts, digits typed ahead are kept: a caller who pressed 9 then 1
	// corrects themself and 1 is the next attempt's choice. Once every attempt failed
	// the flow leaves the menu for its failure path; what is still buffered (or queued
	// in the channel) was typed into a menu that rejected it, and must neither skip the
	// failure path's prompts (barge-in) nor be taken as a choice at the next menu.
	c.discardInput()
	return n.Routes[failure], nil
}

func (c *call) prompt(ctx context.Context, g *flows.Gather) error {
	switch {
	case g.PlayFile != "":
		return c.playFile(ctx, g.PlayFile, g.BargeIn)
	case g.Prompt != "":
		return c.say(ctx, g.Prompt, g.Voice, g.BargeIn)
	}
	return nil
}

// collect reads up to MaxDigits digits: the first within Timeout, each next within
// InterDigitTimeout; the finish key ends input early and is not part of the value.
// pressed reports whether the caller pressed any key, the finish key included: a lone
// finish key is input with too few digits (a no-match), not silence (a no-input).
func (c *call) collect(ctx context.Context, g *flows.Gather) (digits string, pressed bool, err error) {
	var finish byte
	if g.FinishKey != "" {
		finish = g.FinishKey[0]
	}
	buf := make([]byte, 0, g.MaxDigits)
	timeout := g.Timeout
	for len(buf) < g.MaxDigits {
		d, ok, err := c.waitDigit(ctx, timeout)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return string(buf), pressed, nil
		}
		pressed = true
		if finish != 0 && d == finish {
			return string(buf), true, nil
		}
		buf = append(buf, d)
		timeout = g.InterDigitTimeout
	}
	// Full: a finish key typed after the last digit still belongs to this input.
	if finish != 0 {
		switch {
		case len(c.typeahead) > 0 && c.typeahead[0] == finish:
			c.typeahead = c.typeahead[1:]
		case len(c.typeahead) == 0:
			c.pendingFinish = finish
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
	t := time.NewTimer(timeout)
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
		case <-t.C:
			return 0, false, nil
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}
