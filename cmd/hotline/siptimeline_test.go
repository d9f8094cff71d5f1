package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
)

// TestRecordsSIPTimeline: SIP messages wait for their call's record, are written
// into its timeline once it exists, keep flowing for a grace after it ended, and
// messages of calls the engine never records are bounded and forgotten.
func TestRecordsSIPTimeline(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s, err := store.Open(ctx, store.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "t.db")}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := store.NewWriter(s)
	if err != nil {
		t.Fatal(err)
	}
	r := &records{store: s, writer: w, log: log, sip: newSIPTimeline(w, log)}

	t0 := time.Now()
	msg := func(id string, off time.Duration, sent bool, method string, status int, cseq string) sip.MessageTrace {
		return sip.MessageTrace{CallID: id, At: t0.Add(off), Sent: sent, Method: method, Status: status,
			Reason: map[int]string{100: "Trying", 200: "OK"}[status], CSeqMethod: cseq, Remote: "127.0.0.1:5070",
			Transport: "udp", RequestURI: map[bool]string{true: "sip:100@127.0.0.1"}[method != ""]}
	}
	// Before the record: the INVITE and 100 Trying wait.
	r.traceSIP(msg("a", 0, false, "INVITE", 0, "INVITE"))
	r.traceSIP(msg("a", time.Millisecond, true, "", 100, "INVITE"))
	// A call the engine never records, with more messages than are kept.
	for i := range sipPendingPerCall + 5 {
		r.traceSIP(msg("agent-leg", time.Duration(i)*time.Millisecond, true, "INVITE", 0, "INVITE"))
	}
	waitFor(t, 5*time.Second, "the messages taken", func() bool {
		r.sip.mu.Lock()
		defer r.sip.mu.Unlock()
		return r.sip.pending["a"] != nil && r.sip.pending["agent-leg"] != nil &&
			len(r.sip.pending["agent-leg"].msgs) == sipPendingPerCall
	})
	rec := store.CallRecord{ID: "a", StartedAt: t0.Add(2 * time.Millisecond), Direction: store.DirectionInbound}
	r.submit("a", store.StartCall{Record: rec})
	r.traceSIP(msg("a", 3*time.Millisecond, true, "", 200, "INVITE"))
	r.traceSIP(msg("a", 4*time.Millisecond, false, "ACK", 0, "ACK"))
	r.traceSIP(msg("a", 5*time.Millisecond, false, "BYE", 0, "BYE"))
	rec.EndedAt = t0.Add(6 * time.Millisecond)
	r.submit("a", store.FinishCall{Record: rec})
	r.traceSIP(msg("a", 5500*time.Microsecond, true, "", 200, "BYE")) // after FinishCall: in the grace

	r.sip.close() // takes what is queued, then stops
	// Past their age and grace, both calls are forgotten.
	r.sip.sweep(time.Now().Add(sipPendingTTL + sipEndGrace + time.Second))
	if left := len(r.sip.pending) + len(r.sip.live); left != 0 {
		t.Errorf("%d calls still tracked after the sweep", left)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	evs, err := s.Timeline(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Kind)+" "+e.Name+" | "+e.Detail)
	}
	want := []string{
		"sip ← INVITE | sip:100@127.0.0.1, from 127.0.0.1:5070 (udp)",
		"sip → 100 Trying (INVITE) | to 127.0.0.1:5070 (udp)",
		"sip → 200 OK (INVITE) | to 127.0.0.1:5070 (udp)",
		"sip ← ACK | sip:100@127.0.0.1, from 127.0.0.1:5070 (udp)",
		"sip ← BYE | sip:100@127.0.0.1, from 127.0.0.1:5070 (udp)",
		"sip → 200 OK (BYE) | to 127.0.0.1:5070 (udp)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if evs, _ := s.Timeline(ctx, "agent-leg"); len(evs) != 0 {
		t.Errorf("a call without a record got %d timeline events", len(evs))
	}
}

// TestRecordsSIPTimelineBounded: the SIP path never waits (a full queue drops),
// pending calls are capped (the oldest goes), and peer strings are made storable.
func TestRecordsSIPTimelineBounded(t *testing.T) {
	tl := &sipTimeline{in: make(chan sip.MessageTrace, 1), live: map[string]time.Time{}, pending: map[string]*pendingTrace{}}
	tl.observe(sip.MessageTrace{CallID: "x"})
	tl.observe(sip.MessageTrace{CallID: "y"}) // no reader: dropped, not blocked
	if tl.dropped.Load() != 1 {
		t.Errorf("dropped %d, want 1", tl.dropped.Load())
	}
	for i := range sipPendingCalls + 3 {
		tl.take(sip.MessageTrace{CallID: "call-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)})
	}
	if len(tl.pending) != sipPendingCalls {
		t.Errorf("%d pending calls, want the cap %d", len(tl.pending), sipPendingCalls)
	}
	long := strings.Repeat("é", sipTimelineMaxName) // two bytes a rune
	if got := storable(long+"\x00\xff", sipTimelineMaxName); len(got) > sipTimelineMaxName || !strings.HasPrefix(long, got) {
		t.Errorf("storable cut %q", got)
	}
	if got := storable("a\x00b\xffc", 100); got != "ab\uFFFDc" {
		t.Errorf("storable(%q) = %q", "a\x00b\xffc", got)
	}
}
