package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// TestPurge: retention deletes old ended calls with their timelines and survey
// results, old queue events and old done tickets, and returns the recordings to
// delete; it keeps active calls, calls with a ticket still open, and everything
// newer than the cutoff.
func TestPurge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		day := 24 * time.Hour
		old, recent := t0.Add(-100*day), t0.Add(-day)
		var ops []store.Op
		var wantRecs []string
		const oldCalls = 1203 // more than a purge chunk
		for i := range oldCalls {
			r := fullRecord(fmt.Sprintf("old-%04d", i), old.Add(time.Duration(i)*time.Second))
			r.Recordings = []string{fmt.Sprintf("/rec/old-%04d.wav", i)}
			wantRecs = append(wantRecs, r.Recordings...)
			ops = append(ops, store.FinishCall{Record: r},
				store.CallEvent{CallID: r.ID, At: r.StartedAt, Kind: store.KindSIP, Name: "INVITE"},
				store.CallEvent{CallID: r.ID, At: r.EndedAt, Kind: store.KindSIP, Name: "BYE"})
			if i%100 == 0 {
				ops = append(ops, store.SurveyResult{CallID: r.ID, At: r.EndedAt, Score: 3})
			}
		}
		ops = append(ops,
			store.StartCall{Record: startRecord("old-active", old)},
			store.FinishCall{Record: fullRecord("old-open-ticket", old)},
			store.PutTicket{Ticket: store.Ticket{ID: "TK-open", CallID: "old-open-ticket", Status: store.TicketInProgress, CreatedAt: old}},
			store.FinishCall{Record: fullRecord("old-closed-ticket", old)},
			store.PutTicket{Ticket: store.Ticket{ID: "TK-closed", CallID: "old-closed-ticket", Status: store.TicketClosed, CreatedAt: old}},
			store.PutTicket{Ticket: store.Ticket{ID: "TK-closed-recently", Status: store.TicketClosed, CreatedAt: old, UpdatedAt: recent}},
			store.FinishCall{Record: fullRecord("recent", recent)},
			store.CallEvent{CallID: "recent", At: recent, Kind: store.KindSIP, Name: "INVITE"},
			store.QueueEvent{Time: old, Type: store.QueueEnterQueue, Queue: "q", CallID: "old-0000"},
			store.QueueEvent{Time: old.Add(time.Hour), Type: store.QueueConnect, Queue: "q", CallID: "old-0000"},
			store.QueueEvent{Time: recent, Type: store.QueueEnterQueue, Queue: "q", CallID: "recent"},
		)
		wantRecs = append(wantRecs, fullRecord("old-closed-ticket", old).Recordings...)
		write(t, s, ops...)

		cutoff := store.RetentionCutoff(t0, 90)
		if !cutoff.Equal(t0.AddDate(0, 0, -90)) || !store.RetentionCutoff(t0, 0).IsZero() {
			t.Fatalf("RetentionCutoff: %v", cutoff)
		}
		if res, err := s.Purge(ctx, time.Time{}); err != nil || res.Calls != 0 {
			t.Fatalf("purge with no cutoff deleted %+v, %v", res, err)
		}
		res, err := s.Purge(ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(res.Recordings)
		slices.Sort(wantRecs)
		if !slices.Equal(res.Recordings, wantRecs) {
			t.Errorf("recordings: %d returned, want %d", len(res.Recordings), len(wantRecs))
		}
		res.Recordings = nil
		want := store.PurgeResult{Calls: oldCalls + 1, Events: 2 * oldCalls, QueueEvents: 2, Surveys: 13, Tickets: 1}
		checkSame(t, "purge counts", res, want)

		for _, id := range []string{"old-active", "old-open-ticket", "old-closed-ticket", "recent"} {
			_, err := s.Call(ctx, id)
			if gone := err != nil; gone != (id == "old-closed-ticket") {
				t.Errorf("call %s: err %v", id, err)
			}
		}
		for _, id := range []string{"TK-open", "TK-closed-recently"} {
			if _, err := s.Ticket(ctx, id); err != nil {
				t.Errorf("ticket %s: %v", id, err)
			}
		}
		if tl, _ := s.Timeline(ctx, "recent"); len(tl) != 2 {
			t.Errorf("recent timeline: %d events, want 2 (INVITE and its queue event)", len(tl))
		}
		if tl, _ := s.Timeline(ctx, "old-0001"); len(tl) != 0 {
			t.Errorf("purged call's timeline: %d events", len(tl))
		}
		if again, err := s.Purge(ctx, cutoff); err != nil || again.Calls+again.Events+again.QueueEvents+again.Tickets != 0 {
			t.Errorf("second purge: %+v, %v", again, err)
		}
	})
}
