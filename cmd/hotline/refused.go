package main

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
)

// refusedQueue bounds the refused INVITEs waiting for their record: an overload
// refuses calls by the hundred per second, and their records must never hold up
// the SIP path that refuses them.
const refusedQueue = 1024

// refusedCalls writes a call record for every INVITE the SIP server refused after
// its inbound policy (overload, no route, no common codec…): callers who reached
// the engine and were sent away are calls too (issue: "rejected ones included").
// observe runs on the SIP path and never blocks; one goroutine writes, and when it
// falls behind the surplus is dropped and counted in
// hotline_call_records_dropped_total{kind="refused"}.
type refusedCalls struct {
	r       *records
	in      chan sip.Refusal
	dropped prometheus.Counter
	log     *slog.Logger
	once    sync.Once
	done    chan struct{}
}

func newRefusedCalls(r *records, reg prometheus.Registerer, log *slog.Logger) (*refusedCalls, error) {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_call_records_dropped_total",
		Help:        "Call records not written because their queue was full, by kind (refused: INVITEs refused during an overload).",
		ConstLabels: prometheus.Labels{"kind": "refused"}})
	if reg != nil {
		if err := reg.Register(dropped); err != nil {
			return nil, fmt.Errorf("register refused-call metrics: %w", err)
		}
	}
	rc := &refusedCalls{r: r, in: make(chan sip.Refusal, refusedQueue), dropped: dropped, log: log, done: make(chan struct{})}
	go rc.run()
	return rc, nil
}

// observe queues a refusal for its record; it never blocks (sip.WithRefusedCalls).
func (rc *refusedCalls) observe(f sip.Refusal) {
	select {
	case rc.in <- f:
	default:
		rc.dropped.Inc()
	}
}

func (rc *refusedCalls) run() {
	defer close(rc.done)
	for f := range rc.in {
		rc.write(f, time.Now())
	}
}

// write records one refused call: rejected when the engine would not take it
// (overload, no route), failed when the call could not be set up (its offer).
func (rc *refusedCalls) write(f sip.Refusal, at time.Time) {
	disp := store.DispositionFailed
	switch f.Reason {
	case "overload", "no_route", "no_media_resources":
		disp = store.DispositionRejected
	}
	i := f.Info
	rec := store.CallRecord{ID: i.CallID, StartedAt: at, EndedAt: at, Direction: store.DirectionInbound,
		Caller: i.Caller, Called: i.Called, Trunk: i.Trunk, Transport: i.Transport, Flow: i.Flow,
		Disposition: disp, HangupCause: f.Reason, HangupSide: store.HangupEngine}
	rc.r.submit(rec.ID, store.StartCall{Record: rec},
		store.CallEvent{CallID: rec.ID, At: at, Kind: store.KindSIP, Name: "refused",
			Detail: fmt.Sprintf("INVITE answered %d (%s); from %s over %s, user agent %q", f.Status, f.Reason, i.Source, i.Transport, i.UserAgent)},
		store.FinishCall{Record: rec})
}

// close writes what is queued; the SIP server must be closed (no more refusals).
func (rc *refusedCalls) close() {
	rc.once.Do(func() { close(rc.in) })
	<-rc.done
}
