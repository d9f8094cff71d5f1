package flows

// Business-hours calendars: a time zone, weekly opening hours and holidays.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same on every host, with or without tzdata

	"gopkg.in/yaml.v3"
)

// Calendar is a contact center's opening hours, from the environment (calendars:)
// or written inline in an hours node.
type Calendar struct {
	Name     string
	Location *time.Location
	Weekly   [7][]Span // opening spans by time.Weekday (Sunday is 0); none: closed
	Holidays []Holiday
}

// Span is a time of day when the contact center is open: From (included) to To
// (excluded), as offsets from midnight, with 0 <= From < To <= 24h.
type Span struct {
	From, To time.Duration
}

// Holiday is a day closed all day: a date, or with Year 0 the same day every year.
type Holiday struct {
	Year  int
	Month time.Month
	Day   int
}

// Status returns OutcomeHoliday, OutcomeOpen or OutcomeClosed for instant t, judged
// on the calendar's wall clock (so daylight saving time is followed).
func (c *Calendar) Status(t time.Time) Outcome {
	if c.Location != nil {
		t = t.In(c.Location)
	}
	y, m, d := t.Date()
	for _, h := range c.Holidays {
		if h.Month == m && h.Day == d && (h.Year == 0 || h.Year == y) {
			return OutcomeHoliday
		}
	}
	at := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	for _, s := range c.Weekly[t.Weekday()] {
		if at >= s.From && at < s.To {
			return OutcomeOpen
		}
	}
	return OutcomeClosed
}

// calendarSpec is a calendar as written.
type calendarSpec struct {
	Timezone string            `flow:"timezone,required" doc:"IANA time zone, such as Europe/Paris"`
	Weekly   map[string]string `flow:"weekly,required" doc:"days (mon, mon-fri, sat,sun) to hours (08:00-20:00, 08:00-12:00,14:00-18:00 or closed)"`
	Holidays []string          `flow:"holidays" doc:"dates closed all day: YYYY-MM-DD, or MM-DD every year"`
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// buildCalendar checks a calendar as written and returns it, or nil after reporting
// its problems. key is where a missing field is reported, fields the value nodes of
// the fields written, path the prefix of their names ("hours.", "calendars.main.").
func (r *reporter) buildCalendar(key *yaml.Node, fields fieldNodes, spec *calendarSpec, prefix, path string) *Calendar {
	before := len(r.errs) + r.dropped
	c := &Calendar{}
	switch n := fields["timezone"]; {
	case spec.Timezone == "":
		r.errorf(key, "%s%stimezone is required with weekly hours", prefix, path)
	default:
		loc, err := time.LoadLocation(spec.Timezone)
		if err != nil || spec.Timezone == "Local" {
			r.errorf(n, "%s%stimezone must be an IANA time zone such as Europe/Paris or Asia/Shanghai, got %s", prefix, path, quote(spec.Timezone))
		}
		c.Location = loc
	}
	var taken [7]*yaml.Node
	if n := resolve(fields["weekly"]); n == nil || isNull(n) {
		r.errorf(key, "%s%sweekly is required: days to opening hours, such as mon-fri: 08:00-20:00", prefix, path)
	} else if n.Kind == yaml.MappingNode {
		for _, kv := range r.pairs(n, prefix, path+"weekly") {
			days, msg := parseDays(kv.name)
			if msg != "" {
				r.errorf(kv.key, "%s%sweekly: %s", prefix, path, msg)
				continue
			}
			spans, msg := parseSpans(spec.Weekly[kv.name])
			if msg != "" {
				r.errorf(kv.value, "%s%sweekly.%s: %s", prefix, path, kv.name, msg)
				continue
			}
			for _, d := range days {
				if taken[d] != nil {
					r.errorf(kv.key, "%s%sweekly: %s is already given at line %d", prefix, path, dayNames[d], taken[d].Line)
					continue
				}
				taken[d] = kv.key
				c.Weekly[d] = spans
			}
		}
	}
	list := resolve(fields["holidays"])
	for i, s := range spec.Holidays {
		h, ok := parseHoliday(s)
		if !ok {
			at := list
			if i < len(list.Content) {
				at = list.Content[i]
			}
			r.errorf(at, "%s%sholidays[%d] must be a date YYYY-MM-DD, or MM-DD for every year, got %s", prefix, path, i, quote(s))
			continue
		}
		c.Holidays = append(c.Holidays, h)
	}
	if len(r.errs)+r.dropped > before {
		return nil
	}
	return c
}

// parseDays parses a weekly key: mon, mon-fri, sat,sun or daily.
func parseDays(s string) ([]time.Weekday, string) {
	var out []time.Weekday
	day := func(d string) (time.Weekday, bool) {
		i := slices.Index(dayNames, strings.ToLower(strings.TrimSpace(d)))
		return time.Weekday(i), i >= 0
	}
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "daily" {
			for d := range 7 {
				out = append(out, time.Weekday(d))
			}
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		a, ok1 := day(from)
		b, ok2 := a, true
		if isRange {
			b, ok2 = day(to)
		}
		if !ok1 || !ok2 {
			return nil, fmt.Sprintf("%s is not a day or days (mon, tue, wed, thu, fri, sat, sun, ranges such as mon-fri, lists such as sat,sun, or daily)", quote(s))
		}
		for d := a; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, ""
}

// parseSpans parses weekly hours: closed, or HH:MM-HH:MM ranges separated by commas.
func parseSpans(s string) ([]Span, string) {
	s = strings.TrimSpace(s)
	if s == "closed" {
		return nil, ""
	}
	var out []Span
	for part := range strings.SplitSeq(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		a, ok1 := parseClock(from)
		b, ok2 := parseClock(to)
		switch {
		case !ok || !ok1 || !ok2:
			return nil, fmt.Sprintf("hours must be closed or ranges such as 08:00-20:00 or 08:00-12:00,14:00-18:00, got %s", quote(s))
		case a >= b:
			return nil, fmt.Sprintf("range %s ends before it starts; split ranges past midnight into two days (22:00-24:00 and 00:00-02:00)", quote(strings.TrimSpace(part)))
		}
		for _, o := range out {
			if a < o.To && o.From < b {
				return nil, fmt.Sprintf("range %s overlaps another", quote(strings.TrimSpace(part)))
			}
		}
		out = append(out, Span{a, b})
	}
	return out, ""
}

// parseClock parses HH:MM from 00:00 to 24:00.
func parseClock(s string) (time.Duration, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

// parseHoliday parses YYYY-MM-DD or MM-DD.
func parseHoliday(s string) (Holiday, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return Holiday{t.Year(), t.Month(), t.Day()}, true
	}
	if t, err := time.Parse("01-02", s); err == nil {
		return Holiday{0, t.Month(), t.Day()}, true
	}
	return Holiday{}, false
}
