package main

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
)

// sipTimeline bounds: how many messages wait for the goroutine, how long and how
// many of them wait for a record that may never come, and how long a call's
// timeline stays open after its record was finished.
const (
	sipTraceQueue      = 4096             // messages between the SIP path and the goroutine
	sipPendingCalls    = 512              // calls whose messages wait for their record
	sipPendingPerCall  = 32               // messages kept per such call
	sipPendingTTL      = 2 * time.Minute  // a call this old without a record is not ours
	sipEndGrace        = 30 * time.Second // last answers (200 to a BYE) after FinishCall
	sipSweepEvery      = 10 * time.Second
	sipDropWarnEvery   = time.Minute
	sipTimelineMaxName = 80  // longer event names are cut (reason phrases come from peers)
	sipTimelineMaxURI  = 512 // and longer Request-URIs
)

// sipTimeline writes a call's SIP messages into its timeline (store.KindSIP events)
// without ever holding up the SIP path: observe is a non-blocking send to one
// goroutine, which drops messages (and counts them) when it falls behind.
//
// A message reaches the store only once the call's record exists: an INVITE comes
// before the engine starts the record (StartCall), and an outbound call's INVITE
// and ringing come before the engine knows the call at all. Until begin, messages
// wait per call, bounded in calls, messages and age; calls the engine never records
// (agent legs, transfer targets) age out. After end the timeline stays open for a
// grace so the last answers land, then the call is forgotten.
type sipTimeline struct {
	w       *store.Writer
	log     *slog.Logger
	in      chan sip.MessageTrace
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64 // messages the queue had no room for
	once    sync.Once

	mu      sync.Mutex
	live    map[string]time.Time // calls with a record: zero time, or when it was finished
	pending map[string]*pendingTrace
}

type pendingTrace struct {
	first time.Time
	msgs  []sip.MessageTrace
}

func newSIPTimeline(w *store.Writer, log *slog.Logger) *sipTimeline {
	t := &sipTimeline{w: w, log: log, in: make(chan sip.MessageTrace, sipTraceQueue),
		stop: make(chan struct{}), done: make(chan struct{}),
		live: make(map[string]time.Time), pending: make(map[string]*pendingTrace)}
	go t.run()
	return t
}

// observe queues m; it never blocks.
func (t *sipTimeline) observe(m sip.MessageTrace) {
	select {
	case t.in <- m:
	default:
		t.dropped.Add(1)
	}
}

// begin opens callID's timeline (its record has been submitted) and writes the
// messages that waited for it.
func (t *sipTimeline) begin(callID string) {
	t.mu.Lock()
	t.live[callID] = time.Time{}
	p := t.pending[callID]
	delete(t.pending, callID)
	t.mu.Unlock()
	if p != nil {
		t.write(p.msgs...)
	}
}

// end starts callID's grace: messages still in flight are written for a while.
func (t *sipTimeline) end(callID string) {
	t.mu.Lock()
	if _, ok := t.live[callID]; ok {
		t.live[callID] = time.Now()
	}
	t.mu.Unlock()
}

// close writes what is queued and stops the goroutine; the SIP server must be closed.
func (t *sipTimeline) close() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}

func (t *sipTimeline) run() {
	defer close(t.done)
	sweep := time.NewTicker(sipSweepEvery)
	defer sweep.Stop()
	var reported uint64
	var warned time.Time
	for {
		select {
		case m := <-t.in:
			t.take(m)
		case now := <-sweep.C:
			t.sweep(now)
			if d := t.dropped.Load(); d > reported && now.Sub(warned) >= sipDropWarnEvery {
				t.log.Warn("call timelines: SIP messages dropped, the timeline writer fell behind", "dropped", d-reported)
				reported, warned = d, now
			}
		case <-t.stop:
			for {
				select {
				case m := <-t.in:
					t.take(m)
				default:
					return
				}
			}
		}
	}
}

// take writes m when its call has a record, else keeps it until begin.
func (t *sipTimeline) take(m sip.MessageTrace) {
	t.mu.Lock()
	if _, ok := t.live[m.CallID]; ok {
		t.mu.Unlock()
		t.write(m)
		return
	}
	defer t.mu.Unlock()
	p := t.pending[m.CallID]
	if p == nil {
		if len(t.pending) >= sipPendingCalls {
			t.evictOldest()
		}
		p = &pendingTrace{first: time.Now()}
		t.pending[m.CallID] = p
	}
	if len(p.msgs) < sipPendingPerCall {
		p.msgs = append(p.msgs, m)
	}
}

// evictOldest forgets the pending call seen first; t.mu is held.
func (t *sipTimeline) evictOldest() {
	var oldest string
	var at time.Time
	for id, p := range t.pending {
		if oldest == "" || p.first.Before(at) {
			oldest, at = id, p.first
		}
	}
	delete(t.pending, oldest)
}

// sweep forgets pending calls past their age and finished calls past their grace.
func (t *sipTimeline) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, p := range t.pending {
		if now.Sub(p.first) > sipPendingTTL {
			delete(t.pending, id)
		}
	}
	for id, ended := range t.live {
		if !ended.IsZero() && now.Sub(ended) > sipEndGrace {
			delete(t.live, id)
		}
	}
}

// write submits msgs as timeline events: Name the message in brief with its
// direction ("→ 200 OK (INVITE)"), Detail the Request-URI and the peer.
func (t *sipTimeline) write(msgs ...sip.MessageTrace) {
	ops := make([]store.Op, 0, len(msgs))
	for _, m := range msgs {
		name := storable(m.Arrow()+" "+m.Brief(), sipTimelineMaxName)
		peer := "from "
		if m.Sent {
			peer = "to "
		}
		peer += storable(m.Remote, sipTimelineMaxURI)
		if m.Transport != "" {
			peer += " (" + m.Transport + ")"
		}
		detail := peer
		if m.RequestURI != "" {
			detail = storable(m.RequestURI, sipTimelineMaxURI) + ", " + peer
		}
		ops = append(ops, store.CallEvent{CallID: m.CallID, At: m.At, Kind: store.KindSIP, Name: name, Detail: detail})
	}
	if err := t.w.Submit(ops...); err != nil {
		t.log.Warn("call timeline: SIP messages not stored", "call_id", msgs[0].CallID, "error", err)
	}
}

// storable makes a string from a peer's message fit a store text field: valid
// UTF-8, no NUL, at most limit bytes (cut on a rune boundary).
func storable(s string, limit int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}
