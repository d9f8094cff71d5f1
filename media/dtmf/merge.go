package dtmf

import "time"

// Route is the way a digit reached hotline. The zero value is RouteUnknown,
// which the Merger treats as a route of its own.
type Route uint8

// Routes a digit can arrive by.
const (
	RouteUnknown Route = iota
	RouteRFC4733       // RTP telephone-event (Receiver)
	RouteSIPInfo       // SIP INFO body (ParseInfo)
	RouteInband        // tones in the audio (Detector)
	numRoutes
)

// String returns the route's name as used in metric labels: "rfc4733",
// "sip_info", "inband" or "unknown".
func (r Route) String() string {
	switch r {
	case RouteRFC4733:
		return "rfc4733"
	case RouteSIPInfo:
		return "sip_info"
	case RouteInband:
		return "inband"
	}
	return "unknown"
}

// DefaultMergeWindow is how far apart in time the same digit may arrive by
// two routes and still be taken for one key press. The routes recognise a
// press at different moments: the in-band Detector about 40 ms after the
// tone starts, but behind the jitter buffer (up to 200 ms); the RFC 4733
// Receiver when the end packet arrives, that is when the key is released,
// 100-250 ms after a human press starts; SIP INFO whenever the request
// crosses the proxies. 500 ms covers these skews for ordinary presses, and
// because each press on one route cancels at most one press on another, a
// wide window does not swallow real repeated presses.
const DefaultMergeWindow = 500 * time.Millisecond

// mergeDepth is how many reported presses a Merger remembers. At the
// fastest dialling Q.24 allows (40 ms tone, 40 ms pause) 16 presses take
// 1.28 s, well over DefaultMergeWindow.
const mergeDepth = 16

// MergerOption configures a Merger built by NewMerger.
type MergerOption func(*Merger)

// WithWindow sets the merge window (see DefaultMergeWindow). A d of zero or
// less keeps the default.
func WithWindow(d time.Duration) MergerOption {
	return func(m *Merger) { m.window = d }
}

// Merger reports each key press once when a peer sends it by more than one
// route, as carriers do that send RFC 4733 events and leave the tones in the
// audio too, or phones that send both SIP INFO and telephone-events.
//
// Each route's own receiver already reports a press once, so the Merger's
// rules are:
//
//   - A digit from a route is a duplicate, and suppressed, when the same
//     digit was reported from another route within the window before or
//     after it, and that report has not already absorbed a duplicate from
//     this route. Of several such reports the nearest in time is used.
//   - Digits from the same route are never merged: two presses of one key
//     arrive as two digits from each route, and each cancels one of the
//     other route's, so both presses are kept.
//   - So when one route misses a press the other route's copy is still
//     reported, unless it falls within the window of an unmatched report
//     of the same digit (the first route then also missed the other
//     press: two losses in one window).
//
// Pass the time the route recognised the digit; the window must cover the
// skew between routes (see DefaultMergeWindow). A key held longer than the
// window can be reported twice, once in-band at key-down and once by RFC
// 4733 at key-up; subtract the event's duration from the RFC 4733 arrival
// time when it is known.
//
// The zero value is ready to use with DefaultMergeWindow. A Merger is not
// safe for concurrent use: it belongs to the goroutine that consumes the
// call's digits from every route. Add never allocates.
type Merger struct {
	window time.Duration
	recent [mergeDepth]mergeEntry
	next   int // slot the next report goes into
}

// mergeEntry is one reported press.
type mergeEntry struct {
	at      time.Time
	digit   byte
	route   Route
	matched uint8 // bit r set: already absorbed a duplicate from route r
}

// NewMerger returns a Merger configured by opts. It never fails; the zero
// Merger is equivalent to NewMerger().
func NewMerger(opts ...MergerOption) *Merger {
	m := &Merger{}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Add takes a digit that arrived by route at time at and reports whether to
// pass it on (true) or drop it as a duplicate of a press already reported
// by another route (false). Digits 'a'-'d' are the same as 'A'-'D'; a byte
// that is not a DTMF digit returns false. A route outside the named ones
// is treated as RouteUnknown.
func (m *Merger) Add(d byte, route Route, at time.Time) bool {
	code, ok := CodeFromDigit(d)
	if !ok {
		return false
	}
	d, _ = DigitFromCode(code)
	if route >= numRoutes {
		route = RouteUnknown
	}
	window := m.window
	if window <= 0 {
		window = DefaultMergeWindow
	}
	best := -1
	var bestDist time.Duration
	for i := range m.recent {
		e := &m.recent[i]
		if e.digit != d || e.route == route || e.matched&(1<<route) != 0 {
			continue
		}
		dist := at.Sub(e.at).Abs()
		if dist <= window && (best < 0 || dist < bestDist) {
			best, bestDist = i, dist
		}
	}
	if best >= 0 {
		m.recent[best].matched |= 1 << route
		return false
	}
	m.recent[m.next] = mergeEntry{at: at, digit: d, route: route}
	m.next = (m.next + 1) % mergeDepth
	return true
}

// Reset forgets all reported digits, keeping the window, for when the call
// is transferred or the dialog's media is replaced.
func (m *Merger) Reset() {
	*m = Merger{window: m.window}
}
