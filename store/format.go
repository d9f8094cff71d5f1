package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// FormatTimeline renders a call's record and timeline as text for `hotline calls
// show CALL-ID`: a summary of the record (fields that are empty are left out),
// then one line per event with its offset from the call's start, its kind, name
// and detail. Every string is printed with control characters escaped, since
// caller numbers, transcripts and SIP headers come from outside and must not drive
// the operator's terminal.
func FormatTimeline(w io.Writer, rec CallRecord, events []CallEvent) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw}
	p.summary(&rec)
	if len(events) > 0 {
		p.line("")
		p.line("Timeline")
		var table bytes.Buffer
		tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
		for i := range events {
			ev := &events[i]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", offset(rec.StartedAt, ev.At), clean(string(ev.Kind)),
				clean(ev.Name), clean(ev.Detail))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("store: format timeline: %w", err)
		}
		for line := range strings.Lines(table.String()) {
			bw.WriteString(strings.TrimRight(line, " \n") + "\n") // an empty detail leaves padding
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("store: format timeline: %w", err)
	}
	return nil
}

type printer struct{ w io.Writer }

func (p *printer) line(s string) { fmt.Fprintln(p.w, s) }

// field prints "Label      value" when value is not empty.
func (p *printer) field(label, value string) {
	if value != "" {
		fmt.Fprintf(p.w, "%-11s%s\n", label, value)
	}
}

func (p *printer) summary(r *CallRecord) {
	state := string(r.State)
	if state == "" {
		state = "unknown state"
	}
	p.field("Call", clean(r.ID)+" ("+state+")")
	p.field("Direction", join(", ", clean(string(r.Direction)), prefixed("trunk ", r.Trunk), clean(r.Transport), clean(r.Codec)))
	p.field("From", clean(r.Caller))
	p.field("To", clean(r.Called))
	if !r.StartedAt.IsZero() {
		p.field("Started", r.StartedAt.UTC().Format("2006-01-02 15:04:05.000 MST"))
	}
	if !r.AnsweredAt.IsZero() {
		p.field("Answered", offset(r.StartedAt, r.AnsweredAt))
	}
	switch {
	case !r.EndedAt.IsZero():
		ended := offset(r.StartedAt, r.EndedAt) + " (lasted " + dur(r.Duration()) + ")"
		hangup := join(": ", prefixed("hang-up by ", string(r.HangupSide)), clean(r.HangupCause))
		p.field("Ended", join(", ", ended, hangup))
	case r.State == StateActive:
		p.field("Ended", "not yet (active)")
	}
	if r.Flow != "" {
		p.field("Flow", join(", ", clean(r.Flow)+prefixed(" version ", r.FlowVersion), prefixed("language ", r.Language)))
	}
	if len(r.NodePath) > 0 {
		path := make([]string, len(r.NodePath))
		for i, n := range r.NodePath {
			path[i] = clean(n)
		}
		p.field("Path", strings.Join(path, " > "))
	}
	intent := ""
	if r.Intent != "" {
		intent = clean(r.Intent) + " (confidence " + strconv.FormatFloat(r.IntentConfidence, 'f', 2, 64) + ")"
	}
	var sentiment string
	if r.Sentiment != 0 {
		sentiment = "sentiment " + strconv.FormatFloat(r.Sentiment, 'f', 2, 64)
	}
	p.field("Intent", join(", ", intent, sentiment))
	outcome := clean(string(r.Disposition))
	if r.Contained {
		outcome = join(", ", outcome, "contained in the IVR")
	}
	p.field("Outcome", outcome)
	if r.Queue != "" || r.Agent != "" {
		var times []string
		for _, t := range []struct {
			name string
			d    time.Duration
		}{{"wait", r.Wait}, {"talk", r.Talk}, {"hold", r.Hold}, {"wrap-up", r.WrapUp}} {
			if t.d > 0 {
				times = append(times, t.name+" "+dur(t.d))
			}
		}
		who := join(", ", clean(r.Queue), prefixed("agent ", r.Agent))
		p.field("Queue", join(": ", who, strings.Join(times, ", ")))
	}
	if len(r.SurveyScores) > 0 {
		scores := make([]string, len(r.SurveyScores))
		for i, s := range r.SurveyScores {
			scores[i] = strconv.Itoa(s)
		}
		p.field("Survey", strings.Join(scores, ", "))
	}
	p.field("Tickets", cleanList(r.TicketIDs))
	p.field("Recordings", cleanList(r.Recordings))
	p.field("Quality", quality(&r.Quality))
	if len(r.Vars) > 0 && string(r.Vars) != "{}" && string(r.Vars) != "null" {
		p.field("Vars", clean(string(r.Vars)))
	}
}

func quality(q *Quality) string {
	if *q == (Quality{}) {
		return ""
	}
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	s := fmt.Sprintf("%d packets received, %d sent, %d lost (%s %%), jitter %s ms",
		q.PacketsReceived, q.PacketsSent, q.PacketsLost, f(q.LossPercent, 2), f(q.JitterMs, 1))
	if q.RTTMs > 0 {
		s += ", RTT " + f(q.RTTMs, 1) + " ms"
	}
	if q.MOS > 0 {
		s += ", MOS " + f(q.MOS, 2)
	}
	return s
}

// offset renders at relative to start: +m:ss.mmm, or +h:mm:ss.mmm past an hour.
func offset(start, at time.Time) string {
	if start.IsZero() || at.IsZero() {
		return "?"
	}
	d := at.Sub(start).Round(time.Millisecond)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m := d/time.Hour, d%time.Hour/time.Minute
	s, ms := d%time.Minute/time.Second, d%time.Second/time.Millisecond
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%02d.%03d", sign, h, m, s, ms)
	}
	return fmt.Sprintf("%s%d:%02d.%03d", sign, m, s, ms)
}

func dur(d time.Duration) string { return d.Round(time.Millisecond).String() }

func prefixed(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + clean(v)
}

// join joins the non-empty parts with sep.
func join(sep string, parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	return b.String()
}

func cleanList(l []string) string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = clean(s)
	}
	return strings.Join(out, ", ")
}

// clean makes s safe for a terminal on one line: newlines and tabs become spaces,
// other control characters (escape sequences above all) and invalid UTF-8 are
// written as Go escapes.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == unicode.ReplacementChar && strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteRune(r) // a real U+FFFD, not a decoding error
		case r == unicode.ReplacementChar:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ShowCall prints call id's record and timeline from s with FormatTimeline: all
// of `hotline calls show CALL-ID`. An unknown id is ErrNotFound.
func ShowCall(ctx context.Context, s Store, id string, w io.Writer) error {
	rec, err := s.Call(ctx, id)
	if err != nil {
		return err
	}
	events, err := s.Timeline(ctx, id)
	if err != nil {
		return err
	}
	return FormatTimeline(w, rec, events)
}
