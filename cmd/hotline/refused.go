package main

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/webrtc"
)

// refusedQueue bounds the refused INVITEs waiting for their record: an overload
// refuses calls by the hundred per second, and their records must never hold up
// the SIP path that refuses them.
const refusedQueue = 1024

// refusedCalls writes a call record for every call refused at the door: INVITEs the
// SIP server refused after its inbound policy (overload, no route, no common
// codec…) and browser calls admission refused before their media was set up.
// Callers who reached the engine and were sent away are calls too (issue: "rejected
// ones included"). observe and observeBrowser run on the signalling path and never
// block; one goroutine writes, and when it falls behind the surplus is dropped and
// counted in hotline_call_records_dropped_total{kind="refused"}.
type refusedCalls struct {
	r       *records
	in      chan refusedCall
	dropped prometheus.Counter
	log     *slog.Logger
	once    sync.Once
	done    chan struct{}
}

// refusedCall is one refused call's record and the timeline line that says why.
type refusedCall struct {
	rec    store.CallRecord
	kind   store.EventKind
	detail string
}

func newRefusedCalls(r *records, reg prometheus.Registerer, log *slog.Logger) (*refusedCalls, error) {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_call_records_dropped_total",
		Help:        "Call records not written because their queue was full, by kind (refused: calls refused during an overload).",
		ConstLabels: prometheus.Labels{"kind": "refused"}})
	if reg != nil {
		if err := reg.Register(dropped); err != nil {
			return nil, fmt.Errorf("register refused-call metrics: %w", err)
		}
	}
	rc := &refusedCalls{r: r, in: make(chan refusedCall, refusedQueue), dropped: dropped, log: log, done: make(chan struct{})}
	go rc.run()
	return rc, nil
}

// observe queues a refused INVITE for its record; it never blocks
// (sip.WithRefusedCalls). It is rejected when the engine would not take it
// (overload, no route), failed when the call could not be set up (its offer).
func (rc *refusedCalls) observe(f sip.Refusal) {
	disp := store.DispositionFailed
	switch f.Reason {
	case "overload", "no_route", "no_media_resources":
		disp = store.DispositionRejected
	}
	i := f.Info
	rc.queue(refusedCall{
		rec: store.CallRecord{ID: i.CallID, Direction: store.DirectionInbound, Caller: i.Caller, Called: i.Called,
			Trunk: i.Trunk, Transport: i.Transport, Flow: i.Flow, Disposition: disp, HangupCause: f.Reason,
			HangupSide: store.HangupEngine},
		kind:   store.KindSIP,
		detail: fmt.Sprintf("INVITE answered %d (%s); from %s over %s, user agent %q", f.Status, f.Reason, i.Source, i.Transport, i.UserAgent),
	})
}

// observeBrowser queues a browser call that admission refused before its media
// was set up (webrtc.WithAdmission); it never blocks.
func (rc *refusedCalls) observeBrowser(f webrtc.Refusal) {
	why := limitCalls
	var r *refusal
	if errors.As(f.Err, &r) {
		why = r.limit
	}
	rc.queue(refusedCall{
		rec: store.CallRecord{ID: f.CallID, Direction: store.DirectionInbound, Caller: f.Caller, Called: f.Called,
			Transport: "webrtc", Disposition: store.DispositionRejected, HangupCause: why, HangupSide: store.HangupEngine},
		kind:   store.KindNote,
		detail: fmt.Sprintf("browser call refused before its media (%s); from %s", f.Err, f.Source),
	})
}

func (rc *refusedCalls) queue(c refusedCall) {
	select {
	case rc.in <- c:
	default:
		rc.dropped.Inc()
	}
}

func (rc *refusedCalls) run() {
	defer close(rc.done)
	for c := range rc.in {
		rc.write(c, time.Now())
	}
}

// write records one refused call, begun and ended at.
func (rc *refusedCalls) write(c refusedCall, at time.Time) {
	rec := c.rec
	rec.StartedAt, rec.EndedAt = at, at
	rc.r.submit(rec.ID, store.StartCall{Record: rec},
		store.CallEvent{CallID: rec.ID, At: at, Kind: c.kind, Name: "refused", Detail: c.detail},
		store.FinishCall{Record: rec})
}

// close writes what is queued; the SIP server and the WebRTC endpoint must be closed
// (no more refusals).
func (rc *refusedCalls) close() {
	rc.once.Do(func() { close(rc.in) })
	<-rc.done
}
