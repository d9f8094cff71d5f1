package main

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/store"
	_ "github.com/hotline-ivr/hotline/store/sqlite"
)

// TestStoreAPI: the adapter serves what the store holds in the API's terms, and
// maps the store's errors to the API's statuses.
func TestStoreAPI(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DSN: filepath.Join(t.TempDir(), "h.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)
	rec := store.CallRecord{ID: "c1", StartedAt: t0, EndedAt: t0.Add(time.Minute), Caller: "+15550100",
		Wait: 1500 * time.Millisecond, Recordings: []string{"/var/rec/2026/c1.wav", "/elsewhere/x.wav"},
		Quality: store.Quality{MOS: 4.2}}
	if err := s.Write(ctx, store.FinishCall{Record: rec},
		store.CallEvent{CallID: "c1", At: t0, Kind: store.KindSIP, Name: "INVITE"},
		store.PutTicket{Ticket: store.Ticket{ID: "TK-1", CallID: "c1", CreatedAt: t0}},
		store.SurveyResult{CallID: "c1", At: t0, Score: 5}); err != nil {
		t.Fatal(err)
	}
	a := storeAPI{s: s, recDir: "/var/rec"}
	r, err := a.Record(ctx, "c1")
	if err != nil || r.State != "ended" || r.Duration.Std() != time.Minute || r.Wait.Std() != 1500*time.Millisecond ||
		r.Quality.MOS != 4.2 || len(r.Recordings) != 1 || r.Recordings[0] != "2026/c1.wav" {
		t.Errorf("record %+v, %v", r, err)
	}
	if _, err := a.Record(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown record: %v", err)
	}
	page, err := a.SearchRecords(ctx, api.RecordQuery{Caller: "+1555*"})
	if err != nil || len(page.Records) != 1 {
		t.Errorf("search: %+v, %v", page, err)
	}
	if _, err := a.SearchRecords(ctx, api.RecordQuery{Cursor: "garbage"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
	if tl, err := a.Timeline(ctx, "c1"); err != nil || len(tl) != 1 || tl[0].Kind != "sip" {
		t.Errorf("timeline %+v, %v", tl, err)
	}
	tk, err := a.SetTicketStatus(ctx, "TK-1", api.TicketResolved)
	if err != nil || tk.Status != api.TicketResolved {
		t.Errorf("set status: %+v, %v", tk, err)
	}
	if _, err := a.SetTicketStatus(ctx, "TK-none", api.TicketResolved); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
	if tp, err := a.Tickets(ctx, api.TicketQuery{CallID: "c1"}); err != nil || len(tp.Tickets) != 1 {
		t.Errorf("tickets %+v, %v", tp, err)
	}
	if sv, err := a.SurveyResults(ctx, api.SurveyQuery{CallID: "c1"}); err != nil || len(sv) != 1 || sv[0].Score != 5 {
		t.Errorf("surveys %+v, %v", sv, err)
	}
}

// TestACDLog: acd events go through the Writer into the store's queue event log
// and read back as they were, agent states included.
func TestACDLog(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DSN: filepath.Join(t.TempDir(), "h.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := store.NewWriter(s)
	if err != nil {
		t.Fatal(err)
	}
	l := acdLog{w: w, s: s}
	t0 := time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)
	want := []acd.Event{
		{Time: t0, Type: acd.EventEnterQueue, Queue: "billing", CallID: "c1", Position: 1, Priority: 2, Node: "n"},
		{Time: t0.Add(time.Second), Type: acd.EventAgentState, Agent: "alice", State: acd.StateOnCall, From: acd.StateRinging, Node: "n"},
		{Time: t0.Add(2 * time.Second), Type: acd.EventConnect, Queue: "billing", CallID: "c1", Agent: "alice", WaitMS: 2000, RingMS: 500, Node: "n"},
	}
	if err := l.Append(ctx, want...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []acd.Event
	if err := l.Read(ctx, t0, time.Time{}, func(e acd.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}
