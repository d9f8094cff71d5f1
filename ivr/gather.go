package ivr

import (
	"context"
	"strings"

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
		digits, err := c.collect(ctx, g)
		if err != nil {
			return "", err
		}
		switch {
		case digits == "":
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
	// The caller may still have typed something the last attempt did not take.
	c.typeahead = c.typeahead[:0]
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
func (c *call) collect(ctx context.Context, g *flows.Gather) (string, error) {
	var b strings.Builder
	timeout := g.Timeout
	for b.Len() < g.MaxDigits {
		d, ok, err := c.waitDigit(ctx, timeout)
		if err != nil {
			return "", err
		}
		if !ok {
			break
		}
		if g.FinishKey != "" && d == g.FinishKey[0] {
			break
		}
		b.WriteByte(d)
		timeout = g.InterDigitTimeout
	}
	return b.String(), nil
}
