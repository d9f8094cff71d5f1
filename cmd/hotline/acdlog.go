package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/store"
)

// acdLog is the acd's durable queue event log over the store: Append hands the
// events to the Writer (the acd calls it under its lock, so it must not wait for
// a disk), Read streams them back from the store for the replay at start.
type acdLog struct {
	w *store.Writer
	s store.Store
}

var _ acd.EventLog = acdLog{}

func (l acdLog) Append(_ context.Context, evs ...acd.Event) error {
	ops := make([]store.Op, len(evs))
	for i, e := range evs {
		qe := store.QueueEvent{Time: e.Time, Type: store.QueueEventType(e.Type), Queue: e.Queue, CallID: e.CallID,
			Agent: e.Agent, WaitMS: e.WaitMS, RingMS: e.RingMS, TalkMS: e.TalkMS, Position: e.Position,
			Priority: e.Priority, To: e.To, Reason: e.Reason, Callback: e.Callback, Node: e.Node}
		if e.Type == acd.EventAgentState {
			qe.State, qe.From = e.State.String(), e.From.String()
		}
		ops[i] = qe
	}
	return l.w.Submit(ops...)
}

func (l acdLog) Read(ctx context.Context, from, to time.Time, fn func(acd.Event) error) error {
	return l.s.QueueEvents(ctx, store.QueueEventFilter{From: from, To: to}, func(q store.QueueEvent) error {
		e := acd.Event{Time: q.Time, Type: acd.EventType(q.Type), Queue: q.Queue, CallID: q.CallID, Agent: q.Agent,
			WaitMS: q.WaitMS, RingMS: q.RingMS, TalkMS: q.TalkMS, Position: q.Position, Priority: q.Priority,
			To: q.To, Reason: q.Reason, Callback: q.Callback, Node: q.Node}
		if q.State != "" {
			if err := e.State.UnmarshalText([]byte(q.State)); err != nil {
				return fmt.Errorf("queue event %d: %w", q.Seq, err)
			}
		}
		if q.From != "" {
			if err := e.From.UnmarshalText([]byte(q.From)); err != nil {
				return fmt.Errorf("queue event %d: %w", q.Seq, err)
			}
		}
		return fn(e)
	})
}
