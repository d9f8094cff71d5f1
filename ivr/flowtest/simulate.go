package flowtest

// The terminal simulator: a person (or a program, through pipes) is the caller.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

// SimOptions adjust Simulate.
type SimOptions struct {
	// Echo repeats each input line in the output ("> 1"), so that the output reads
	// as a transcript when the input is not a terminal (a script, a pipe).
	Echo bool
}

// simHelp is what /help prints.
const simHelp = `Each line you type answers the call when it waits for you:
  1, 42#, *           keys (DTMF): 0-9, * and #
  I want a refund     words: speech, understood by the engine's classifier
  (empty line)        no input: the wait runs out now (so does /timeout)
  /vars               the call's variables
  /path               the nodes so far
  /hangup             hang up (end of input does too); the on_hangup section runs
  /help               this text
While the call waits for you its timeout runs in real time. In a queue or a
transfer, type how it turns out (the default is shown in brackets).`

// Simulate runs f as one call in a terminal, without SIP or audio: prompts print
// as text under the node that says them, each line of in is what the caller does
// (keys, words, or a command; see /help), and the path and the variables each node
// changed print as the call goes. Queue and transfer nodes ask in for their
// outcome; http nodes call what the environment points at (cfg.HTTPClient). It
// returns when the call is over, with its Result; the end of in, or of ctx, hangs
// up.
//
// The goroutine reading in ends when in reaches its end or fails; Simulate does
// not wait for it (a terminal's standard input may never end).
func Simulate(ctx context.Context, f *flows.Flow, cfg Config, in io.Reader, out io.Writer, opts SimOptions) (ivr.Result, error) {
	call, err := Start(ctx, f, cfg)
	if err != nil {
		return ivr.Result{}, err
	}
	defer call.Close()
	stop := make(chan struct{})
	defer close(stop)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
	}()
	s := &sim{call: call, out: out, lines: lines, opts: opts}
	s.header(f, call.cfg)
	// ctx ending hangs the call up; the simulation goes on to show the on_hangup
	// section and the end.
	nctx := context.WithoutCancel(ctx)
	for {
		ev, err := call.Next(nctx)
		if err != nil {
			return call.Close(), err
		}
		s.flush()
		switch ev.Kind {
		case EventEnd:
			s.footer(ev.Result)
			return *ev.Result, nil
		case EventWait:
			s.wait(ctx, ev)
		case EventQueue, EventTransfer:
			s.choose(ctx, ev)
		}
		s.flush()
	}
}

// sim is one terminal simulation.
type sim struct {
	call    *Call
	out     io.Writer
	lines   <-chan string
	opts    SimOptions
	printed int  // log entries printed so far
	eof     bool // in has ended
}

func (s *sim) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

func (s *sim) header(f *flows.Flow, cfg Config) {
	s.printf("Simulating flow %s (%s, version %s): a call from %s to %s, %s.\n",
		f.Name, f.File, f.Version, cfg.Caller, cfg.Called, cfg.Start.Format("Mon 2006-01-02 15:04 MST"))
	s.printf("Type keys (1, 12345678#), words to speak, an empty line for no input, /help for more.\n")
}

// flush prints the log entries not printed yet.
func (s *sim) flush() {
	log := s.call.Log(s.printed)
	s.printed += len(log)
	for _, e := range log {
		switch e.Kind {
		case EntryPress, EntrySay:
			// The caller's own line is on the screen already (or echoed).
		case EntryNode:
			s.printf("%s\n", e)
		case EntryPrompt:
			voice := ""
			if e.Voice != "" && e.Voice != s.call.flow.Voice {
				voice = " [" + e.Voice + "]"
			}
			s.printf("   says%s: %s\n", voice, e.Text)
		case EntryNoInput:
			s.printf("   (no input for %s)\n", formatDuration(e.Wait))
		default:
			if str := e.String(); str != "" {
				s.printf("   %s\n", str)
			}
		}
	}
}

func (s *sim) footer(res *ivr.Result) {
	s.printf("path: %s\n", strings.Join(res.Path, " > "))
	var facts []string
	if res.Contained {
		facts = append(facts, "contained (resolved in the IVR)")
	}
	if res.QueueEntered {
		facts = append(facts, "transferred to a human")
	}
	if len(res.Tickets) > 0 {
		facts = append(facts, "tickets "+strings.Join(res.Tickets, ", "))
	}
	if len(res.Survey) > 0 {
		var a []string
		for _, sa := range res.Survey {
			a = append(a, fmt.Sprintf("%s=%d", sa.Var, sa.Score))
		}
		facts = append(facts, "survey "+strings.Join(a, " "))
	}
	if len(facts) > 0 {
		s.printf("%s\n", strings.Join(facts, "; "))
	}
}

// read returns the next line; timedOut when deadline (if not zero) passed first,
// ok false at the end of the input.
func (s *sim) read(ctx context.Context, deadline time.Time) (line string, ok, timedOut bool) {
	if s.eof {
		return "", false, false
	}
	var expire <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(max(0, time.Until(deadline)))
		defer t.Stop()
		expire = t.C
	}
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.eof = true
			return "", false, false
		}
		if s.opts.Echo {
			s.printf("> %s\n", l)
		}
		return strings.TrimSpace(l), true, false
	case <-expire:
		return "", true, true
	case <-ctx.Done():
		return "", false, false
	}
}

// wait takes lines until one gives the waiting call something to react to.
func (s *sim) wait(ctx context.Context, ev Event) {
	what := "keys"
	switch {
	case ev.Wait.Recording:
		what = "your message: words, # to finish, an empty line for silence"
	case ev.Wait.Speech:
		what = "keys or words"
	}
	s.printf("   (waiting for %s; %s)\n", what, formatDuration(ev.Wait.Left.Round(time.Millisecond)))
	deadline := time.Now().Add(ev.Wait.Left)
	for {
		line, ok, timedOut := s.read(ctx, deadline)
		switch {
		case !ok:
			s.printf("   (end of input: the caller hangs up)\n")
			s.call.Hangup()
			return
		case timedOut:
			s.timeout(ev)
			return
		}
		if s.command(line, ev) {
			return
		}
		s.flush()
	}
}

// timeout lets the wait run out: for a recording, as long as its silence lasts.
func (s *sim) timeout(ev Event) {
	d := ev.Wait.Left
	if ev.Wait.Recording {
		d = min(d, ev.Wait.EndOnSilence+silenceMargin)
	}
	_, _ = s.call.Advance(d)
}

// command carries out one line at a wait; true when the call has something to
// react to.
func (s *sim) command(line string, ev Event) bool {
	switch line {
	case "", "/timeout":
		s.timeout(ev)
		return s.call.wake
	case "/hangup", "/quit", "/exit":
		s.call.Hangup()
		return true
	}
	if s.info(line) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(line)
	switch {
	case strings.Trim(strings.ReplaceAll(line, " ", ""), "0123456789*#") == "":
		if err := s.call.Press(strings.ReplaceAll(line, " ", "")); err != nil {
			s.printf("   (%v)\n", err)
			return false
		}
		return true
	case unicode.IsLetter(r):
		err := s.call.Say(line)
		switch {
		case errors.Is(err, ErrNotListening):
			s.printf("   (node %s listens for keys only: press digits)\n", ev.Node)
			return false
		case err != nil:
			s.printf("   (%v)\n", err)
			return false
		case ev.Wait.Recording:
			s.printf("   (recorded; # to finish, an empty line for silence)\n")
			return false
		}
		return true
	}
	s.printf("   (type keys 0-9 * #, words, or /help)\n")
	return false
}

// info answers the commands that only show something; false for other lines.
func (s *sim) info(line string) bool {
	switch line {
	case "/vars":
		vars := s.call.Vars()
		for _, k := range sortedKeys(vars) {
			s.printf("   %s = %s\n", k, formatValue(vars[k]))
		}
	case "/path":
		s.printf("   %s\n", strings.Join(s.call.Path(), " > "))
	case "/help", "/?":
		for _, l := range strings.Split(simHelp, "\n") {
			s.printf("   %s\n", l)
		}
	default:
		if strings.HasPrefix(line, "/") {
			s.printf("   (unknown command %s: /help lists them)\n", line)
			return true
		}
		return false
	}
	return true
}

// choose asks how a queue or transfer turns out.
func (s *sim) choose(ctx context.Context, ev Event) {
	allowed, def := queueOutcomes, flows.OutcomeCompleted
	question := "how does the call leave the queue?"
	if ev.Kind == EventTransfer {
		allowed, def = transferOutcomes, flows.OutcomeOK
		question = "how does the far end answer?"
	}
	for {
		var opts []string
		for _, o := range allowed {
			if o == def {
				opts = append(opts, "["+string(o)+"]")
			} else {
				opts = append(opts, string(o))
			}
		}
		s.printf("   (%s %s)\n", question, strings.Join(opts, ", "))
		line, ok, _ := s.read(ctx, time.Time{})
		switch {
		case !ok:
			s.printf("   (end of input: the caller hangs up)\n")
			s.call.Hangup()
			return
		case line == "":
			return
		case line == "/hangup" || line == "/quit" || line == "/exit":
			s.call.Hangup()
			return
		case s.info(line):
			continue
		}
		if err := s.call.Answer(flows.Outcome(line)); err != nil {
			s.printf("   (%v)\n", err)
			continue
		}
		return
	}
}
