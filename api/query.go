package api

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Query strings are parsed strictly: an unknown or repeated parameter, or a value
// that does not parse, is a 400 naming every problem at once. A typo such as
// ?queu=billing must not silently widen a search to every call.

// maxParamLen bounds a text parameter, as the store bounds stored text.
const maxParamLen = 256

// maxCursorLen bounds an opaque page cursor.
const maxCursorLen = 512

// params reads one request's query parameters and collects problems.
type params struct {
	q    url.Values
	errs []error
}

// newParams checks that q holds only known parameters, each given once.
func newParams(q url.Values, known ...string) *params {
	p := &params{q: q}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys) // problems in a stable order
	for _, k := range keys {
		switch {
		case !slices.Contains(known, k):
			if len(known) == 0 {
				p.bad("unknown parameter %q: this route takes none", clip(k, 40))
			} else {
				p.bad("unknown parameter %q (known: %s)", clip(k, 40), strings.Join(known, ", "))
			}
		case len(q[k]) != 1:
			p.bad("parameter %s given %d times", k, len(q[k]))
		}
	}
	return p
}

func (p *params) bad(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// err returns every problem found, wrapping ErrInvalid.
func (p *params) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(p.errs...))
}

// get returns a parameter's value when it was given exactly once.
func (p *params) get(key string) (string, bool) {
	vs := p.q[key]
	if len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

// text returns a text parameter: valid UTF-8, no control characters, at most
// maxParamLen bytes.
func (p *params) text(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	if !isText(v, maxParamLen) {
		p.bad("%s: want 1 to %d bytes of printable text", key, maxParamLen)
		return ""
	}
	return v
}

// isText reports whether s is non-empty valid UTF-8 without control characters,
// at most n bytes.
func isText(s string, n int) bool {
	return s != "" && len(s) <= n && utf8.ValidString(s) &&
		strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) }) < 0
}

// number returns a caller or called parameter: text with '*' allowed only at the
// end (a prefix search).
func (p *params) number(key string) string {
	v := p.text(key)
	if strings.Contains(strings.TrimSuffix(v, "*"), "*") {
		p.bad("%s %q: '*' may only end the number (a prefix search)", key, clip(v, 40))
		return ""
	}
	return v
}

// oneOf returns a parameter that must be one of allowed.
func (p *params) oneOf(key string, allowed ...string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	if !slices.Contains(allowed, v) {
		p.bad("%s %q: want %s", key, clip(v, 40), strings.Join(allowed, ", "))
		return ""
	}
	return v
}

// time returns a time parameter: RFC 3339, or a date YYYY-MM-DD meaning its
// midnight UTC.
func (p *params) time(key string) time.Time {
	v, ok := p.get(key)
	if !ok {
		return time.Time{}
	}
	t, err := parseTime(v)
	if err != nil {
		p.bad("%s: %v", key, err)
	}
	return t
}

// parseTime reads RFC 3339 (fractional seconds allowed) or YYYY-MM-DD (midnight
// UTC), in UTC, years 1970 to 9999.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse(time.DateOnly, s); err2 != nil {
			return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-05-22T08:00:00Z) nor a date (2026-05-22)", clip(s, 40))
		}
	}
	// The range is checked in UTC, the form the time is rendered back in.
	if t = t.UTC(); t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%q is out of range (years 1970 to 9999 UTC)", clip(s, 40))
	}
	return t, nil
}

// span checks from and to (From <= To when both are set).
func (p *params) span(from, to time.Time) {
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		p.bad("to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
}

// limit returns the page size: 1 to MaxLimit, 0 when not given.
func (p *params) limit() int {
	v, ok := p.get("limit")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		p.bad("limit %q: want a number from 1 to %d", clip(v, 20), MaxLimit)
		return 0
	}
	return n
}

// cursor returns an opaque page cursor (the backend validates it).
func (p *params) cursor() string {
	v, ok := p.get("cursor")
	if !ok {
		return ""
	}
	if len(v) > maxCursorLen || !isText(v, maxCursorLen) {
		p.bad("cursor: not a cursor this API returned")
		return ""
	}
	return v
}

// recordKeys are the parameters of GET /api/v1/records.
var recordKeys = []string{"from", "to", "caller", "called", "disposition", "queue", "agent", "flow", "state", "limit", "cursor"}

// ParseRecordQuery reads a record search from query parameters: from and to
// (RFC 3339 or YYYY-MM-DD), caller and called (exact, or a prefix ending in '*'),
// disposition, queue, agent, flow, state (active or ended), limit (1 to MaxLimit)
// and cursor. It reports every problem at once, wrapping ErrInvalid. The CLI may
// use it to accept the same syntax as the API.
func ParseRecordQuery(q url.Values) (RecordQuery, error) {
	p := newParams(q, recordKeys...)
	rq := RecordQuery{
		From:        p.time("from"),
		To:          p.time("to"),
		Caller:      p.number("caller"),
		Called:      p.number("called"),
		Disposition: p.text("disposition"),
		Queue:       p.text("queue"),
		Agent:       p.text("agent"),
		Flow:        p.text("flow"),
		State:       p.oneOf("state", "active", "ended"),
		Limit:       p.limit(),
		Cursor:      p.cursor(),
	}
	p.span(rq.From, rq.To)
	if err := p.err(); err != nil {
		return RecordQuery{}, err
	}
	return rq, nil
}

// Values renders q as the query parameters ParseRecordQuery reads back to the same
// query: the next page's link.
func (q RecordQuery) Values() url.Values {
	v := url.Values{}
	setTime(v, "from", q.From)
	setTime(v, "to", q.To)
	for _, kv := range [][2]string{
		{"caller", q.Caller}, {"called", q.Called}, {"disposition", q.Disposition},
		{"queue", q.Queue}, {"agent", q.Agent}, {"flow", q.Flow}, {"state", q.State}, {"cursor", q.Cursor},
	} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func setTime(v url.Values, key string, t time.Time) {
	if !t.IsZero() {
		v.Set(key, t.UTC().Format(time.RFC3339Nano))
	}
}

// ticketKeys are the parameters of GET /api/v1/tickets.
var ticketKeys = []string{"status", "category", "caller", "call_id", "from", "to", "limit", "cursor"}

// parseTicketQuery reads GET /api/v1/tickets' parameters.
func parseTicketQuery(q url.Values) (TicketQuery, error) {
	p := newParams(q, ticketKeys...)
	tq := TicketQuery{
		Status:   TicketStatus(p.oneOf("status", "open", "in_progress", "resolved", "closed")),
		Category: p.text("category"),
		Caller:   p.text("caller"),
		CallID:   p.text("call_id"),
		From:     p.time("from"),
		To:       p.time("to"),
		Limit:    p.limit(),
		Cursor:   p.cursor(),
	}
	p.span(tq.From, tq.To)
	if err := p.err(); err != nil {
		return TicketQuery{}, err
	}
	return tq, nil
}

// values renders tq as query parameters, for the next page's link.
func (tq TicketQuery) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{
		{"status", string(tq.Status)}, {"category", tq.Category}, {"caller", tq.Caller},
		{"call_id", tq.CallID}, {"cursor", tq.Cursor},
	} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	setTime(v, "from", tq.From)
	setTime(v, "to", tq.To)
	if tq.Limit > 0 {
		v.Set("limit", strconv.Itoa(tq.Limit))
	}
	return v
}

// parseSurveyQuery reads GET /api/v1/surveys' parameters.
func parseSurveyQuery(q url.Values) (SurveyQuery, error) {
	p := newParams(q, "call_id", "from", "to", "limit")
	sq := SurveyQuery{CallID: p.text("call_id"), From: p.time("from"), To: p.time("to"), Limit: p.limit()}
	p.span(sq.From, sq.To)
	if err := p.err(); err != nil {
		return SurveyQuery{}, err
	}
	return sq, nil
}

// parseSpan reads the from and to of a figures request. Neither means today
// (today is true); from alone runs to now.
func parseSpan(q url.Values, now time.Time) (from, to time.Time, today bool, err error) {
	p := newParams(q, "from", "to")
	from, to = p.time("from"), p.time("to")
	switch {
	case from.IsZero() && to.IsZero():
		today = true
	case from.IsZero():
		p.bad("to without from: give from (RFC 3339 or YYYY-MM-DD), or neither for today")
	case to.IsZero():
		to = now.UTC()
	}
	p.span(from, to)
	return from, to, today, p.err()
}
