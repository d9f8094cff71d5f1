package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Page sizes of searches.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// SearchFilter selects call records. Every set field must match; the zero filter
// selects every record. Caller and Called match exactly, or as a prefix when they
// end in '*' ("+86138*"). The same filter with the previous page's Next as Cursor
// returns the next page.
type SearchFilter struct {
	From, To    time.Time // From <= StartedAt < To; a zero bound is open
	Caller      string
	Called      string
	Disposition Disposition
	Queue       string
	Agent       string
	Flow        string
	State       CallState
	Limit       int    // records per page; 0: DefaultLimit, at most MaxLimit
	Cursor      string // CallPage.Next of the previous page
}

// CallPage is one page of call records, newest first. Next is the cursor of the
// next page, "" after the last.
type CallPage struct {
	Calls []CallRecord
	Next  string
}

// PageSize is the number of records a page holds: Limit, or DefaultLimit when 0.
func (f SearchFilter) PageSize() int { return pageSize(f.Limit) }

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// Validate reports every problem of the filter at once, wrapping ErrInvalid.
func (f SearchFilter) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w search filter: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if err := validateRange("search filter", f.From, f.To); err != nil {
		errs = append(errs, err)
	}
	for _, p := range []struct{ name, v string }{
		{"caller", f.Caller}, {"called", f.Called}, {"disposition", string(f.Disposition)},
		{"queue", f.Queue}, {"agent", f.Agent}, {"flow", f.Flow},
	} {
		switch {
		case len(p.v) > maxTextLen || !utf8.ValidString(p.v) || strings.IndexByte(p.v, 0) >= 0:
			bad("%s is not 0 to %d bytes of text", p.name, maxTextLen)
		case (p.name == "caller" || p.name == "called") && strings.Contains(strings.TrimSuffix(p.v, "*"), "*"):
			bad("%s %q: '*' may only end the number", p.name, truncate(p.v, 40))
		}
	}
	if f.State != StateUnknown && f.State != StateActive && f.State != StateEnded {
		bad("state %q: want active or ended", f.State)
	}
	errs = append(errs, validatePage("search filter", f.Limit, f.Cursor))
	return errors.Join(errs...)
}

// Validate reports every problem of the filter at once, wrapping ErrInvalid.
func (f TicketFilter) Validate() error {
	var errs []error
	errs = append(errs, validateRange("ticket filter", f.From, f.To))
	if f.Status != TicketUnknown && !f.Status.valid() {
		errs = append(errs, fmt.Errorf("%w ticket filter: status %q: want open, in_progress, resolved or closed", ErrInvalid, f.Status))
	}
	errs = append(errs, validatePage("ticket filter", f.Limit, f.Cursor))
	return errors.Join(errs...)
}

// PageSize is the number of tickets a page holds: Limit, or DefaultLimit when 0.
func (f TicketFilter) PageSize() int { return pageSize(f.Limit) }

// Validate reports every problem of the filter at once, wrapping ErrInvalid.
func (f SurveyFilter) Validate() error {
	return errors.Join(validateRange("survey filter", f.From, f.To), validatePage("survey filter", f.Limit, ""))
}

// PageSize is the most results returned: Limit, or DefaultLimit when 0.
func (f SurveyFilter) PageSize() int { return pageSize(f.Limit) }

// Validate reports every problem of the filter at once, wrapping ErrInvalid.
func (f QueueEventFilter) Validate() error {
	err := validateRange("queue event filter", f.From, f.To)
	if f.Type != QueueEventUnknown && !validEventType(string(f.Type)) {
		err = errors.Join(err, fmt.Errorf("%w queue event filter: type %q", ErrInvalid, truncate(string(f.Type), 40)))
	}
	return err
}

func validateRange(what string, from, to time.Time) error {
	var errs []error
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs = append(errs, fmt.Errorf("%w %s: to %s is before from %s", ErrInvalid, what, to.Format(time.RFC3339), from.Format(time.RFC3339)))
	}
	for _, t := range []time.Time{from, to} {
		if y := t.Year(); !t.IsZero() && (y < 1970 || y > 9999) {
			errs = append(errs, fmt.Errorf("%w %s: time %v is out of range", ErrInvalid, what, t))
		}
	}
	return errors.Join(errs...)
}

func validatePage(what string, limit int, cursor string) error {
	var errs []error
	if limit < 0 || limit > MaxLimit {
		errs = append(errs, fmt.Errorf("%w %s: limit %d: want 1 to %d", ErrInvalid, what, limit, MaxLimit))
	}
	if cursor != "" {
		if _, err := ParseCursor(cursor); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// searchKeys are the query parameters ParseSearchFilter knows, in Values order.
var searchKeys = []string{"from", "to", "caller", "called", "disposition", "queue", "agent", "flow", "state", "limit", "cursor"}

// ParseSearchFilter reads a filter from query parameters, as the REST API and
// `hotline calls search` receive them: from and to (RFC 3339, or a date
// YYYY-MM-DD meaning its midnight UTC), caller, called, disposition, queue, agent,
// flow, state, limit and cursor. An unknown or repeated parameter, or a value that
// does not parse, is an error: a typo must not silently widen a search. It reports
// every problem at once, wrapping ErrInvalid.
func ParseSearchFilter(q url.Values) (SearchFilter, error) {
	var (
		f    SearchFilter
		errs []error
	)
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w search: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors in a stable order
	for _, k := range keys {
		vs := q[k]
		if !slices.Contains(searchKeys, k) {
			bad("unknown parameter %q (known: %s)", truncate(k, 40), strings.Join(searchKeys, ", "))
			continue
		}
		if len(vs) != 1 {
			bad("parameter %s given %d times", k, len(vs))
			continue
		}
		v := vs[0]
		switch k {
		case "from", "to":
			t, err := parseTime(v)
			if err != nil {
				bad("%s: %v", k, err)
			} else if k == "from" {
				f.From = t
			} else {
				f.To = t
			}
		case "caller":
			f.Caller = v
		case "called":
			f.Called = v
		case "disposition":
			f.Disposition = Disposition(v)
		case "queue":
			f.Queue = v
		case "agent":
			f.Agent = v
		case "flow":
			f.Flow = v
		case "state":
			f.State = CallState(v)
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxLimit {
				bad("limit %q: want a number from 1 to %d", truncate(v, 20), MaxLimit)
			} else {
				f.Limit = n
			}
		case "cursor":
			f.Cursor = v
		}
	}
	if len(errs) == 0 {
		if err := f.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SearchFilter{}, err
	}
	return f, nil
}

// parseTime reads RFC 3339 (with or without fractional seconds) or a date
// YYYY-MM-DD (midnight UTC), returning UTC truncated to microseconds as stored.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse(time.DateOnly, s); err2 != nil {
			return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", truncate(s, 40))
		}
	}
	if y := t.Year(); y < 1970 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q is out of range", truncate(s, 40))
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// Values renders the filter as query parameters ParseSearchFilter reads back to the
// same filter: for links to the next page and for the CLI to call the API.
func (f SearchFilter) Values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.UTC().Format(time.RFC3339Nano))
	}
	set("caller", f.Caller)
	set("called", f.Called)
	set("disposition", string(f.Disposition))
	set("queue", f.Queue)
	set("agent", f.Agent)
	set("flow", f.Flow)
	set("state", string(f.State))
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	set("cursor", f.Cursor)
	return q
}

// Cursor is a position in a newest-first listing: the sort key (a time, then an
// id) of the last row of a page; the next page starts after it. Clients treat its
// String as opaque.
type Cursor struct {
	At time.Time
	ID string
}

// String encodes the cursor as URL-safe text.
func (c Cursor) String() string {
	s := strconv.FormatInt(c.At.UnixMicro(), 10) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseCursor decodes Cursor.String; anything else is ErrInvalid.
func ParseCursor(s string) (Cursor, error) {
	bad := fmt.Errorf("%w cursor %q: not one this store returned", ErrInvalid, truncate(s, 40))
	if len(s) > 4*maxIDLen {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	micros, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" || len(id) > maxIDLen || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || n < 0 || n > maxMicros || strconv.FormatInt(n, 10) != micros {
		return Cursor{}, bad
	}
	return Cursor{At: time.UnixMicro(n).UTC(), ID: id}, nil
}

// maxMicros is the end of year 9999 in Unix microseconds, the last time stored.
const maxMicros = 253402300799999999
