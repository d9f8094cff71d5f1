package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// TestRoundTrip writes a record with every field set and reads back the same
// record, on every backend; likewise an event with every field.
func TestRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "node-a")
		want := fullRecord("c-full", t0)
		write(t, s, store.StartCall{Record: startRecord("c-full", t0)}, store.FinishCall{Record: want})
		checkSame(t, "record", getCall(t, s, "c-full"), want)

		ev := store.CallEvent{CallID: "c-full", At: at(time.Second), Kind: store.KindSIP, Name: "INVITE",
			Detail: "from +8613800138000 to 10086 (udp) 中文 ✓", Data: json.RawMessage(`{"branch":"z9hG4bK-1","cseq":1}`)}
		write(t, s, ev)
		tl, err := s.Timeline(ctx, "c-full")
		if err != nil || len(tl) != 1 {
			t.Fatalf("timeline: %v, %d events", err, len(tl))
		}
		if tl[0].Seq == 0 {
			t.Errorf("event Seq not assigned")
		}
		ev.Seq = tl[0].Seq
		checkSame(t, "event", tl[0], ev)

		// A record with nothing but its id and start reads back with zero fields
		// and nil lists, not empty ones.
		minimal := store.CallRecord{ID: "c-min", StartedAt: t0}
		write(t, s, store.StartCall{Record: minimal})
		minimal.State, minimal.Node = store.StateActive, "node-a"
		checkSame(t, "minimal record", getCall(t, s, "c-min"), minimal)

		if _, err := s.Call(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown call: err %v, want ErrNotFound", err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != 3 {
			t.Errorf("schema version %d, %v; want 3", v, err)
		}
	})
}

// TestLifecycle: StartCall inserts active, UpdateCall checkpoints while active,
// FinishCall ends; a late checkpoint or a repeated start changes nothing.
func TestLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		start := startRecord("c1", t0)
		write(t, s, store.StartCall{Record: start})
		got := getCall(t, s, "c1")
		if got.State != store.StateActive || !got.EndedAt.IsZero() || got.Caller != start.Caller {
			t.Fatalf("after start: %+v", got)
		}

		mid := start
		mid.AnsweredAt, mid.Queue, mid.NodePath = at(time.Second), "billing", []string{"welcome", "menu"}
		write(t, s, store.UpdateCall{Record: mid})
		if got := getCall(t, s, "c1"); got.State != store.StateActive || got.Queue != "billing" || !got.AnsweredAt.Equal(at(time.Second)) {
			t.Fatalf("after update: %+v", got)
		}

		end := mid
		end.EndedAt, end.Disposition, end.HangupCause = at(time.Minute), store.DispositionResolved, "normal_clearing"
		write(t, s, store.FinishCall{Record: end})
		late := mid
		late.Queue = "stale"
		again := start
		again.Caller = "other"
		write(t, s, store.UpdateCall{Record: late}, store.StartCall{Record: again})
		got = getCall(t, s, "c1")
		if got.State != store.StateEnded || got.Queue != "billing" || got.Caller != start.Caller || got.Disposition != store.DispositionResolved {
			t.Fatalf("after finish and stale writes: %+v", got)
		}

		// FinishCall without a start (the start was lost) still makes the record;
		// UpdateCall without one makes an active record.
		write(t, s, store.FinishCall{Record: fullRecord("c2", t0)}, store.UpdateCall{Record: startRecord("c3", t0)})
		if got := getCall(t, s, "c2"); got.State != store.StateEnded {
			t.Errorf("finish without start: state %q", got.State)
		}
		if got := getCall(t, s, "c3"); got.State != store.StateActive {
			t.Errorf("update without start: state %q", got.State)
		}
	})
}

// TestRecoverActive: the engine died with calls up; at the next start their
// records are ended with cause engine_restart at their last sign of life, and
// other nodes' live calls are left alone.
func TestRecoverActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "node-a")
		write(t, s,
			store.StartCall{Record: startRecord("a-events", at(0))},
			store.CallEvent{CallID: "a-events", At: at(3 * time.Second), Kind: store.KindNode, Name: "menu"},
			store.CallEvent{CallID: "a-events", At: at(5 * time.Second), Kind: store.KindPrompt, Name: "bye"},
			store.StartCall{Record: startRecord("a-answered", at(10*time.Second))},
			store.QueueEvent{Time: at(40 * time.Second), Type: store.QueueEnterQueue, Queue: "q", CallID: "a-queue"},
			store.StartCall{Record: startRecord("a-queue", at(20*time.Second))},
			store.StartCall{Record: startRecord("a-future", at(30*time.Second))},
			store.CallEvent{CallID: "a-future", At: at(time.Hour), Kind: store.KindNote, Name: "clock skew"},
			store.FinishCall{Record: fullRecord("a-done", at(0))},
		)
		answered := startRecord("a-answered", at(10*time.Second))
		answered.AnsweredAt, answered.Disposition = at(12*time.Second), store.DispositionResolved
		write(t, s, store.UpdateCall{Record: answered})
		other := d.open(t, "node-b")
		write(t, other, store.StartCall{Record: startRecord("b-live", at(0))})
		s.Close()

		now := at(10 * time.Minute)
		s = d.open(t, "node-a") // the restart
		got, err := s.RecoverActive(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a-answered", "a-events", "a-future", "a-queue"}; !slices.Equal(got, want) {
			t.Fatalf("recovered %v, want %v", got, want)
		}
		for id, end := range map[string]time.Time{
			"a-events":   at(5 * time.Second),  // the last event
			"a-answered": at(12 * time.Second), // the answer
			"a-queue":    at(40 * time.Second), // the queue event
			"a-future":   now,                  // an event after now is capped
		} {
			r := getCall(t, s, id)
			if r.State != store.StateEnded || !r.EndedAt.Equal(end) || r.HangupCause != store.CauseEngineRestart || r.HangupSide != store.HangupEngine {
				t.Errorf("%s: state %s, ended %v (want %v), cause %q, side %q", id, r.State, r.EndedAt, end, r.HangupCause, r.HangupSide)
			}
		}
		if r := getCall(t, s, "a-answered"); r.Disposition != store.DispositionResolved {
			t.Errorf("a disposition the flow set was overwritten: %q", r.Disposition)
		}
		if r := getCall(t, s, "a-events"); r.Disposition != store.DispositionError {
			t.Errorf("recovered record without disposition: %q, want error", r.Disposition)
		}
		checkSame(t, "finished record", getCall(t, s, "a-done"), fullRecord("a-done", at(0)))
		if r := getCall(t, s, "b-live"); r.State != store.StateActive {
			t.Errorf("node-b's live call was recovered by node-a")
		}
		if again, err := s.RecoverActive(ctx, now); err != nil || len(again) != 0 {
			t.Errorf("second recovery: %v, %v", again, err)
		}
		// The call was alive after all: its FinishCall wins.
		end := fullRecord("a-events", at(0))
		write(t, s, store.FinishCall{Record: end})
		checkSame(t, "finish after recovery", getCall(t, s, "a-events"), end)
	})
}

// TestWriteIsAtomic: an invalid op fails the whole write before anything is
// applied; an op the database refuses rolls the whole write back.
func TestWriteIsAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		invalid := []store.Op{
			store.StartCall{Record: store.CallRecord{StartedAt: t0}},                                   // no id
			store.FinishCall{Record: startRecord("x", t0)},                                             // no end
			store.CallEvent{CallID: "x", Kind: store.KindNote},                                         // no time
			store.QueueEvent{Time: t0, Type: "enter queue"},                                            // bad type
			store.StartCall{Record: store.CallRecord{ID: "x", StartedAt: t0, Vars: []byte(`[1]`)}},     // not an object
			store.StartCall{Record: store.CallRecord{ID: "x", StartedAt: t0, Vars: []byte(`{"a":`)}},   // not JSON
			store.StartCall{Record: store.CallRecord{ID: "x", StartedAt: t0, Caller: "a\x00b"}},        // NUL
			store.StartCall{Record: store.CallRecord{ID: "x", StartedAt: t0, Wait: -time.Second}},      // negative
			store.SetTicketStatus{ID: "t", Status: "done", At: t0},                                     // bad status
			store.PutTicket{Ticket: store.Ticket{ID: "t", CreatedAt: t0, Fields: []byte(`"x"`)}},       // not an object
			store.CallEvent{CallID: "x", At: t0, Data: []byte(`{"a":"\u0000"}`)},                       // NUL in JSON
			store.StartCall{Record: store.CallRecord{ID: string(make([]byte, 200)), StartedAt: t0}},    // long id
			store.SurveyResult{CallID: "x", At: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), Score: 1}, // before 1970
			nil,
		}
		for i, op := range invalid {
			err := s.Write(ctx, store.StartCall{Record: startRecord("ok", t0)}, op)
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("invalid op %d (%T): err %v, want ErrInvalid", i, op, err)
			}
		}
		err := s.Write(ctx, store.StartCall{Record: startRecord("ok", t0)},
			store.CallEvent{CallID: "no-such-call", At: t0, Kind: store.KindNote})
		if !errors.Is(err, store.ErrRejected) {
			t.Errorf("event for an unknown call: err %v, want ErrRejected", err)
		}
		if _, err := s.Call(ctx, "ok"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed write left its first op behind: %v", err)
		}
	})
}

// TestWriteCancelled: a write whose context is cancelled applies nothing and says
// why (the SQLite backend runs its statements without the context's cancellation
// and checks it between operations).
func TestWriteCancelled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Write(cctx, store.StartCall{Record: startRecord("gone", t0)},
			store.CallEvent{CallID: "gone", At: t0, Kind: store.KindNote})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled write: err %v, want context.Canceled", err)
		}
		if _, err := s.Call(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a cancelled write left its call behind: %v", err)
		}
	})
}

// TestConcurrentWriters: many goroutines write calls and their events at once
// (the Writer is one goroutine, but the API, recovery and several engine nodes
// are others); every row arrives, under -race.
func TestConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		const writers, calls, events = 8, 25, 4
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for c := range calls {
					id := fmt.Sprintf("w%d-c%02d", w, c)
					start := at(time.Duration(w*calls+c) * time.Second)
					if err := s.Write(ctx, store.StartCall{Record: startRecord(id, start)}); err != nil {
						errs <- err
						return
					}
					ops := []store.Op{}
					for e := range events {
						ops = append(ops, store.CallEvent{CallID: id, At: start.Add(time.Duration(e) * time.Millisecond), Kind: store.KindNode, Name: fmt.Sprint(e)})
					}
					ops = append(ops, store.QueueEvent{Time: start, Type: store.QueueEnterQueue, Queue: "q", CallID: id})
					end := fullRecord(id, start)
					ops = append(ops, store.FinishCall{Record: end})
					if err := s.Write(ctx, ops...); err != nil {
						errs <- err
						return
					}
					if _, err := s.Call(ctx, id); err != nil { // reads beside the writes
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		all := searchAll(t, s, store.SearchFilter{Limit: 77})
		if len(all) != writers*calls {
			t.Fatalf("%d records, want %d", len(all), writers*calls)
		}
		for _, id := range []string{"w0-c00", fmt.Sprintf("w%d-c%02d", writers-1, calls-1)} {
			tl, err := s.Timeline(ctx, id)
			if err != nil || len(tl) != events+1 {
				t.Errorf("timeline of %s: %d events, %v; want %d", id, len(tl), err, events+1)
			}
		}
	})
}

// searchAll follows the pages of f to the end.
func searchAll(t testing.TB, s store.Store, f store.SearchFilter) []store.CallRecord {
	t.Helper()
	var all []store.CallRecord
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		p, err := s.SearchCalls(ctx, f)
		if err != nil {
			t.Fatalf("search %+v: %v", f, err)
		}
		all = append(all, p.Calls...)
		if p.Next == "" {
			return all
		}
		f.Cursor = p.Next
	}
}

// TestEventRuns: runs of timeline events of every length up to past two full
// multi-row statements come back whole and in the order written, interleaved
// with other ops, and an event for an unknown call in the middle of a run fails
// the whole write.
func TestEventRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "node-a")
		for _, n := range []int{1, 2, 3, 7, 16, 31, 32, 33, 70} {
			id := fmt.Sprintf("run-%d", n)
			ops := []store.Op{store.StartCall{Record: startRecord(id, t0)}}
			var want []store.CallEvent
			for e := range n {
				ev := store.CallEvent{CallID: id, At: at(time.Duration(e%5) * time.Second), Kind: store.KindSIP,
					Name: fmt.Sprintf("msg %d", e), Detail: fmt.Sprintf("detail %d", e)}
				if e%4 == 1 {
					ev.Data = json.RawMessage(fmt.Sprintf(`{"e":%d}`, e))
				}
				want = append(want, ev)
				ops = append(ops, ev)
				if e == n/2 {
					ops = append(ops, store.UpdateCall{Record: startRecord(id, t0)})
				}
			}
			write(t, s, ops...)
			tl, err := s.Timeline(ctx, id)
			if err != nil || len(tl) != n {
				t.Fatalf("%d events: timeline %v, %d events", n, err, len(tl))
			}
			// The timeline is by time, then by the order written.
			slices.SortStableFunc(want, func(a, b store.CallEvent) int { return a.At.Compare(b.At) })
			for i := range tl {
				if i > 0 && tl[i].At.Equal(tl[i-1].At) && tl[i].Seq <= tl[i-1].Seq {
					t.Errorf("%d events: seq %d after %d at the same time", n, tl[i].Seq, tl[i-1].Seq)
				}
				want[i].Seq = tl[i].Seq
				checkSame(t, fmt.Sprintf("%d events: event %d", n, i), tl[i], want[i])
			}
		}

		ops := []store.Op{store.StartCall{Record: startRecord("run-bad", t0)}}
		for e := range 20 {
			id := "run-bad"
			if e == 11 {
				id = "no-such-call"
			}
			ops = append(ops, store.CallEvent{CallID: id, At: t0, Kind: store.KindNote, Name: fmt.Sprint(e)})
		}
		if err := s.Write(ctx, ops...); !errors.Is(err, store.ErrRejected) {
			t.Fatalf("a run with an event for an unknown call: err %v, want ErrRejected", err)
		}
		if _, err := s.Call(ctx, "run-bad"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed run left its call behind: %v", err)
		}
	})
}
