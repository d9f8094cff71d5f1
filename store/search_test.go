package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// searchFixture writes 30 records, c00 (oldest) to c29, one a minute, with fields
// cycling so that each filter selects a known set.
func searchFixture(t *testing.T, s store.Store) {
	t.Helper()
	var ops []store.Op
	for i := range 30 {
		r := startRecord(fmt.Sprintf("c%02d", i), at(time.Duration(i)*time.Minute))
		r.Caller = []string{"+8613800000001", "+8613900000002", "+15550100"}[i%3]
		r.Called = []string{"10086", "10010"}[i%2]
		r.Queue = []string{"", "billing", "support"}[i%3]
		r.Agent = []string{"", "alice", "bob", "carol"}[i%4]
		r.Flow = []string{"telecom", "outage"}[i%2]
		r.Disposition = []store.Disposition{store.DispositionResolved, store.DispositionTransferred, store.DispositionAbandoned, store.DispositionRejected, store.DispositionError}[i%5]
		if i%7 == 6 {
			ops = append(ops, store.StartCall{Record: r}) // active
			continue
		}
		r.EndedAt = r.StartedAt.Add(time.Minute)
		ops = append(ops, store.FinishCall{Record: r})
	}
	write(t, s, ops...)
}

// want lists the fixture's ids newest first for which keep is true.
func want(keep func(i int) bool) []string {
	var out []string
	for i := 29; i >= 0; i-- {
		if keep(i) {
			out = append(out, fmt.Sprintf("c%02d", i))
		}
	}
	return out
}

// TestSearch runs one table of filters over every backend: each must select the
// same records, newest first, through any page size.
func TestSearch(t *testing.T) {
	cases := []struct {
		name string
		f    store.SearchFilter
		keep func(i int) bool
	}{
		{"all", store.SearchFilter{}, func(int) bool { return true }},
		{"from", store.SearchFilter{From: at(20 * time.Minute)}, func(i int) bool { return i >= 20 }},
		{"to is exclusive", store.SearchFilter{To: at(5 * time.Minute)}, func(i int) bool { return i < 5 }},
		{"range", store.SearchFilter{From: at(10 * time.Minute), To: at(15 * time.Minute)}, func(i int) bool { return i >= 10 && i < 15 }},
		{"caller exact", store.SearchFilter{Caller: "+15550100"}, func(i int) bool { return i%3 == 2 }},
		{"caller prefix", store.SearchFilter{Caller: "+86138*"}, func(i int) bool { return i%3 == 0 }},
		{"caller prefix of both", store.SearchFilter{Caller: "+86*"}, func(i int) bool { return i%3 != 2 }},
		{"caller prefix is not a pattern", store.SearchFilter{Caller: "+86_38*"}, func(int) bool { return false }},
		{"caller star alone", store.SearchFilter{Caller: "*"}, func(int) bool { return true }},
		{"called", store.SearchFilter{Called: "10010"}, func(i int) bool { return i%2 == 1 }},
		{"queue", store.SearchFilter{Queue: "billing"}, func(i int) bool { return i%3 == 1 }},
		{"agent", store.SearchFilter{Agent: "carol"}, func(i int) bool { return i%4 == 3 }},
		{"flow", store.SearchFilter{Flow: "outage"}, func(i int) bool { return i%2 == 1 }},
		{"disposition", store.SearchFilter{Disposition: store.DispositionAbandoned}, func(i int) bool { return i%5 == 2 }},
		{"active", store.SearchFilter{State: store.StateActive}, func(i int) bool { return i%7 == 6 }},
		{"combined", store.SearchFilter{Queue: "support", Flow: "telecom", From: at(6 * time.Minute)}, func(i int) bool { return i%3 == 2 && i%2 == 0 && i >= 6 }},
		{"nothing", store.SearchFilter{Agent: "nobody"}, func(int) bool { return false }},
	}
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		searchFixture(t, s)
		for _, tc := range cases {
			w := want(tc.keep)
			for _, limit := range []int{0, 4, 7, 30} {
				f := tc.f
				f.Limit = limit
				if got := ids(searchAll(t, s, f)); !slices.Equal(got, w) {
					t.Errorf("%s, limit %d: got %v, want %v", tc.name, limit, got, w)
				}
			}
		}
	})
}

// TestSearchPages checks the page boundaries: a full last page has no Next, the
// default page size applies, equal start times are ordered by id, and a bad
// filter or cursor is ErrInvalid.
func TestSearchPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		var ops []store.Op
		for i := range store.DefaultLimit + 10 {
			ops = append(ops, store.StartCall{Record: startRecord(fmt.Sprintf("s%03d", i), t0)}) // all at once
		}
		write(t, s, ops...)
		p, err := s.SearchCalls(ctx, store.SearchFilter{})
		if err != nil || len(p.Calls) != store.DefaultLimit || p.Next == "" {
			t.Fatalf("first page: %d calls, next %q, %v", len(p.Calls), p.Next, err)
		}
		if p.Calls[0].ID != fmt.Sprintf("s%03d", store.DefaultLimit+9) {
			t.Errorf("same start time: first is %s, want the highest id", p.Calls[0].ID)
		}
		p, err = s.SearchCalls(ctx, store.SearchFilter{Cursor: p.Next})
		if err != nil || len(p.Calls) != 10 || p.Next != "" {
			t.Fatalf("last page: %d calls, next %q, %v", len(p.Calls), p.Next, err)
		}
		p, err = s.SearchCalls(ctx, store.SearchFilter{Limit: store.DefaultLimit + 10})
		if err != nil || p.Next != "" {
			t.Errorf("exactly full page: next %q, %v; want none", p.Next, err)
		}
		for _, f := range []store.SearchFilter{
			{Cursor: "garbage"}, {Limit: -1}, {Limit: store.MaxLimit + 1}, {From: at(time.Hour), To: t0},
			{Caller: "+86*1*"}, {State: "gone"},
		} {
			if _, err := s.SearchCalls(ctx, f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("filter %+v: err %v, want ErrInvalid", f, err)
			}
		}
	})
}

// TestQueueEventLog: the log keeps every field, reads back in time order by queue
// and range, streams to fn (whose error stops it), and shows in the call's timeline.
func TestQueueEventLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		full := store.QueueEvent{Time: at(2 * time.Second), Type: store.QueueConnect, Queue: "billing", CallID: "c1",
			Agent: "alice", WaitMS: 12500, RingMS: 3000, TalkMS: 1, Position: 2, Priority: 5, To: "x",
			Reason: "r", Callback: true, State: "on_call", From: "ringing", Node: "node-a"}
		write(t, s, store.StartCall{Record: startRecord("c1", t0)},
			store.CallEvent{CallID: "c1", At: at(time.Second), Kind: store.KindNode, Name: "queue_billing"},
			store.QueueEvent{Time: at(time.Second), Type: store.QueueEnterQueue, Queue: "billing", CallID: "c1", Position: 1, Priority: 5},
			full,
			store.QueueEvent{Time: at(3 * time.Second), Type: store.QueueEnterQueue, Queue: "support", CallID: "c2"},
			store.QueueEvent{Time: at(4 * time.Second), Type: store.QueueAgentState, Agent: "alice", State: "wrap_up", From: "on_call"},
			store.QueueEvent{Time: at(5 * time.Second), Type: store.QueueCompleteCaller, Queue: "billing", CallID: "c1", Agent: "alice", TalkMS: 60000},
		)
		read := func(f store.QueueEventFilter) []store.QueueEvent {
			var out []store.QueueEvent
			if err := s.QueueEvents(ctx, f, func(e store.QueueEvent) error { out = append(out, e); return nil }); err != nil {
				t.Fatalf("queue events %+v: %v", f, err)
			}
			return out
		}
		types := func(evs []store.QueueEvent) []string {
			var out []string
			for _, e := range evs {
				out = append(out, string(e.Type)+"@"+e.Queue)
			}
			return out
		}
		if got, want := types(read(store.QueueEventFilter{})), []string{"ENTERQUEUE@billing", "CONNECT@billing", "ENTERQUEUE@support", "AGENTSTATE@", "COMPLETECALLER@billing"}; !slices.Equal(got, want) {
			t.Errorf("whole log: %v, want %v", got, want)
		}
		if got, want := types(read(store.QueueEventFilter{Queue: "billing", From: at(2 * time.Second), To: at(5 * time.Second)})), []string{"CONNECT@billing"}; !slices.Equal(got, want) {
			t.Errorf("billing in [2s, 5s): %v, want %v", got, want)
		}
		if got := read(store.QueueEventFilter{Agent: "alice", Type: store.QueueAgentState}); len(got) != 1 {
			t.Errorf("agent states: %d", len(got))
		}
		got := read(store.QueueEventFilter{Type: store.QueueConnect})
		if len(got) != 1 || got[0].Seq == 0 {
			t.Fatalf("connect events: %+v", got)
		}
		full.Seq = got[0].Seq
		checkSame(t, "queue event", got[0], full)

		stop := errors.New("enough")
		n := 0
		if err := s.QueueEvents(ctx, store.QueueEventFilter{}, func(store.QueueEvent) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("fn error: got %v after %d events, want it returned after 1", err, n)
		}

		tl, err := s.Timeline(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, string(e.Kind)+":"+e.Name)
		}
		if want := []string{"node:queue_billing", "queue:ENTERQUEUE", "queue:CONNECT", "queue:COMPLETECALLER"}; !slices.Equal(kinds, want) {
			t.Errorf("timeline %v, want %v", kinds, want)
		}
		if tl, err := s.Timeline(ctx, "unknown"); err != nil || len(tl) != 0 {
			t.Errorf("timeline of an unknown call: %v, %v", tl, err)
		}
	})
}

// TestTicketsAndSurveys: tickets round trip, change status, list by filter and
// page; survey results list by call and time.
func TestTicketsAndSurveys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		tk := store.Ticket{ID: "TK-1", CallID: "c1", Category: "outage", Priority: "high", Status: store.TicketOpen,
			Caller: "+8613800138000", Called: "10086", Flow: "telecom", Language: "zh", Summary: "no signal in Haidian",
			Fields: []byte(`{"district": "Haidian", "since": "08:00"}`), Transcript: []string{"my phone has no signal", "since this morning"},
			Recordings: []string{"/rec/c1.wav"}, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
		write(t, s, store.StartCall{Record: startRecord("c1", t0)}, store.PutTicket{Ticket: tk},
			store.SurveyResult{CallID: "c1", At: at(2 * time.Minute), Node: "survey", Var: "q1", Score: 4},
			store.SurveyResult{CallID: "c1", At: at(3 * time.Minute), Node: "survey", Var: "q2", Score: 5})
		got, err := s.Ticket(ctx, "TK-1")
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, "ticket", got, tk)
		if _, err := s.Ticket(ctx, "TK-none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown ticket: %v", err)
		}

		write(t, s, store.SetTicketStatus{ID: "TK-1", Status: store.TicketResolved, At: at(time.Hour)},
			store.SetTicketStatus{ID: "TK-none", Status: store.TicketClosed, At: at(time.Hour)})
		got, _ = s.Ticket(ctx, "TK-1")
		if got.Status != store.TicketResolved || !got.UpdatedAt.Equal(at(time.Hour)) || !got.CreatedAt.Equal(tk.CreatedAt) {
			t.Errorf("after status change: %s, updated %v, created %v", got.Status, got.UpdatedAt, got.CreatedAt)
		}
		// PutTicket again replaces the fields but keeps the creation time.
		tk2 := tk
		tk2.Summary, tk2.CreatedAt, tk2.UpdatedAt, tk2.Status = "fixed", at(2*time.Hour), at(2*time.Hour), ""
		write(t, s, store.PutTicket{Ticket: tk2})
		got, _ = s.Ticket(ctx, "TK-1")
		if got.Summary != "fixed" || !got.CreatedAt.Equal(tk.CreatedAt) || got.Status != store.TicketOpen {
			t.Errorf("after put: summary %q, created %v, status %s", got.Summary, got.CreatedAt, got.Status)
		}

		var ops []store.Op
		for i := range 12 {
			ops = append(ops, store.PutTicket{Ticket: store.Ticket{ID: fmt.Sprintf("TK-%02d", i+10), Category: []string{"outage", "billing"}[i%2],
				Status: []store.TicketStatus{store.TicketOpen, store.TicketClosed}[i%3%2], CreatedAt: at(time.Duration(i) * time.Second)}})
		}
		write(t, s, ops...)
		var all []string
		f := store.TicketFilter{Category: "billing", Limit: 4}
		for {
			p, err := s.Tickets(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range p.Tickets {
				all = append(all, tk.ID)
			}
			if p.Next == "" {
				break
			}
			f.Cursor = p.Next
		}
		if want := []string{"TK-21", "TK-19", "TK-17", "TK-15", "TK-13", "TK-11"}; !slices.Equal(all, want) {
			t.Errorf("billing tickets %v, want %v", all, want)
		}
		p, err := s.Tickets(ctx, store.TicketFilter{Status: store.TicketOpen, CallID: "c1"})
		if err != nil || len(p.Tickets) != 1 || p.Tickets[0].ID != "TK-1" {
			t.Errorf("open tickets of c1: %+v, %v", p.Tickets, err)
		}
		if _, err := s.Tickets(ctx, store.TicketFilter{Status: "bogus"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad status filter: %v", err)
		}

		res, err := s.SurveyResults(ctx, store.SurveyFilter{CallID: "c1"})
		if err != nil || len(res) != 2 || res[0].Score != 4 || res[1].Var != "q2" || res[0].Seq == 0 {
			t.Fatalf("surveys of c1: %+v, %v", res, err)
		}
		want := store.SurveyResult{CallID: "c1", Seq: res[0].Seq, At: at(2 * time.Minute), Node: "survey", Var: "q1", Score: 4}
		checkSame(t, "survey result", res[0], want)
		if res, err := s.SurveyResults(ctx, store.SurveyFilter{From: at(150 * time.Second)}); err != nil || len(res) != 1 {
			t.Errorf("surveys from 2m30s: %+v, %v", res, err)
		}
	})
}
