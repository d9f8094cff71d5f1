package acd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handEvents is a small hand-written day in queue q (T_sl 20 s), with the figures
// worked out by hand in TestTallyHandComputed.
func handEvents() []Event {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	st := func(s int, agent string, from, to State, call string) Event {
		return Event{Time: at(s), Type: EventAgentState, Agent: agent, From: from, State: to, CallID: call}
	}
	return []Event{
		st(0, "a", StateOffline, StateAvailable, ""),
		st(0, "b", StateOffline, StateAvailable, ""),
		{Time: at(0), Type: EventEnterQueue, Queue: "q", CallID: "1"},
		{Time: at(10), Type: EventConnect, Queue: "q", CallID: "1", Agent: "a", WaitMS: 10_000},
		st(10, "a", StateRinging, StateOnCall, "1"),
		{Time: at(5), Type: EventEnterQueue, Queue: "q", CallID: "2"},
		{Time: at(35), Type: EventConnect, Queue: "q", CallID: "2", Agent: "b", WaitMS: 30_000},
		st(35, "b", StateRinging, StateOnCall, "2"),
		{Time: at(20), Type: EventEnterQueue, Queue: "q", CallID: "3"},
		{Time: at(23), Type: EventShortAbandon, Queue: "q", CallID: "3", WaitMS: 3_000},
		{Time: at(40), Type: EventEnterQueue, Queue: "q", CallID: "4"},
		{Time: at(100), Type: EventAbandon, Queue: "q", CallID: "4", WaitMS: 60_000},
		{Time: at(50), Type: EventEnterQueue, Queue: "q", CallID: "5"},
		{Time: at(110), Type: EventOverflow, Queue: "q", CallID: "5", WaitMS: 60_000, To: "r"},
		{Time: at(110), Type: EventEnterQueue, Queue: "r", CallID: "5"},
		{Time: at(130), Type: EventCompleteAgent, Queue: "q", CallID: "1", Agent: "a", TalkMS: 120_000},
		st(130, "a", StateOnCall, StateWrapUp, "1"),
		st(160, "a", StateWrapUp, StateAvailable, "1"),
		{Time: at(60), Type: EventEnterQueue, Queue: "q", CallID: "6"},
		{Time: at(80), Type: EventConnect, Queue: "q", CallID: "6", Agent: "c", WaitMS: 20_000},
		{Time: at(95), Type: EventCompleteCaller, Queue: "q", CallID: "2", Agent: "b", TalkMS: 60_000},
		st(95, "b", StateOnCall, StateAvailable, "2"),
		st(200, "b", StateAvailable, StateBreak, ""),
	}
}

// TestTallyHandComputed checks every METRICS.md figure against values worked out by
// hand from handEvents:
//
//	offered 6 (calls 1-6), answered 3 (1, 2, 6),
//	answered within 20 s: 1 (10 s) and 6 (20 s, "within" includes the bound) = 2,
//	abandoned 1 (call 4; call 3 is a short abandon), flowed out 1 (call 5),
//	SL = 2 / (3 + 1) = 0.5; answer rate = 3 / (6 - 1) = 0.6;
//	abandonment = 1 / 5 = 0.2; ASA = (10 + 30 + 20) / 3 = 20 s;
//	handled 2: call 1 (talk 120 + wrap 30 = 150 s), call 2 (talk 60, no wrap):
//	AHT = 210 / 2 = 105 s;
//	occupancy to t=200: a staffed 200 s, busy 10→160 = 150 s; b staffed 0→200 =
//	200 s, busy 35→95 = 60 s: 210 / 400 = 0.525.
func TestTallyHandComputed(t *testing.T) {
	tally := NewTally(TallyOptions{Location: time.UTC})
	for _, ev := range handEvents() {
		tally.Add(ev)
	}
	f := tally.Figures("q", tally.Day(t0), tally.Day(t0).Add(24*time.Hour), t0.Add(200*time.Second))
	if f.Offered != 6 || f.Answered != 3 || f.AnsweredInSL != 2 || f.Abandoned != 1 || f.ShortAbandoned != 1 || f.FlowedOut() != 1 {
		t.Fatalf("counts = %+v", f.Counts)
	}
	check := func(name string, got float64, ok bool, want float64) {
		t.Helper()
		if !ok || got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	sl, ok := f.ServiceLevel()
	check("SL", sl, ok, 0.5)
	ar, ok := f.AnswerRate()
	check("answer rate", ar, ok, 0.6)
	ab, ok := f.AbandonRate()
	check("abandonment rate", ab, ok, 0.2)
	asa, ok := f.ASA()
	check("ASA", asa.Seconds(), ok, 20)
	aht, ok := f.AHT()
	check("AHT", aht.Seconds(), ok, 105)
	occ, ok := f.Occupancy()
	check("occupancy", occ, ok, 0.525)
	if r := tally.Figures("r", tally.Day(t0), tally.Day(t0).Add(24*time.Hour), t0); r.Offered != 1 || r.Answered != 0 {
		t.Errorf("queue r = %+v", r.Counts)
	}
	if _, ok := (Figures{}).ServiceLevel(); ok {
		t.Error("SL defined without calls")
	}
}

func TestTallyIntervals(t *testing.T) {
	tally := NewTally(TallyOptions{Location: time.UTC, Interval: 15 * time.Minute})
	tally.Add(Event{Time: t0.Add(14 * time.Minute), Type: EventEnterQueue, Queue: "q"})
	tally.Add(Event{Time: t0.Add(16 * time.Minute), Type: EventEnterQueue, Queue: "q"})
	tally.Add(Event{Time: t0.Add(10 * time.Minute), Type: EventAgentState, Agent: "a", State: StateAvailable})
	tally.Add(Event{Time: t0.Add(20 * time.Minute), Type: EventAgentState, Agent: "a", From: StateAvailable, State: StateOffline})
	first := tally.Figures("q", t0, t0.Add(15*time.Minute), t0.Add(time.Hour))
	second := tally.Figures("q", t0.Add(15*time.Minute), t0.Add(30*time.Minute), t0.Add(time.Hour))
	if first.Offered != 1 || second.Offered != 1 {
		t.Errorf("offered per interval: %d, %d", first.Offered, second.Offered)
	}
	if first.StaffedTime != 5*time.Minute || second.StaffedTime != 5*time.Minute {
		t.Errorf("staffed time split: %v, %v", first.StaffedTime, second.StaffedTime)
	}
	if got := tally.Start(t0.Add(29 * time.Minute)); !got.Equal(t0.Add(15 * time.Minute)) {
		t.Errorf("Start = %v", got)
	}
	if today := tally.Today("q", t0.Add(time.Hour)); today.Offered != 2 {
		t.Errorf("today = %d", today.Offered)
	}
}

func TestFileLogRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.jsonl")
	l, err := OpenFileLog(path, false)
	if err != nil {
		t.Fatal(err)
	}
	evs := handEvents()
	if err := l.Append(ctx, evs[:5]...); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, evs[5:]...); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l.Close() // idempotent
	if err := l.Append(ctx, evs[0]); err == nil {
		t.Error("append after close")
	}
	// A torn last line (the process died mid-write) is skipped, and repaired at reopen.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-03-02T09:00:00Z","event":"ENTER`)
	f.Close()
	l, err = OpenFileLog(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(ctx, Event{Time: t0.Add(time.Hour), Type: EventEnterQueue, Queue: "late"}); err != nil {
		t.Fatal(err)
	}
	var got []Event
	if err := l.Read(ctx, time.Time{}, time.Time{}, func(ev Event) error { got = append(got, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs)+1 || got[len(got)-1].Queue != "late" || got[3].WaitMS != 10_000 {
		t.Fatalf("read back %d events: %+v", len(got), got)
	}
	// A corrupt line in the middle is an error naming its line.
	os.WriteFile(path, []byte("{\"event\":\"ENTERQUEUE\"}\nnot json\n{}\n"), 0o644)
	if err := l.Read(ctx, time.Time{}, time.Time{}, func(Event) error { return nil }); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("corrupt line: %v", err)
	}
	// Replay from the intact part equals the live tally.
	mem := &MemLog{}
	mem.Append(ctx, evs...)
	a, _ := Replay(ctx, mem, time.Time{}, time.Time{}, TallyOptions{Location: time.UTC})
	live := NewTally(TallyOptions{Location: time.UTC})
	for _, ev := range evs {
		live.Add(ev)
	}
	if x, y := a.Today("q", t0.Add(time.Hour)), live.Today("q", t0.Add(time.Hour)); x != y {
		t.Errorf("replay %+v != live %+v", x, y)
	}
}

func TestFileLogRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.jsonl")
	l, _ := OpenFileLog(path, true)
	defer l.Close()
	evs := handEvents()
	l.Append(ctx, evs...)
	var n int
	l.Read(ctx, t0.Add(100*time.Second), t0.Add(131*time.Second), func(Event) error { n++; return nil })
	if n != 5 { // at 100, 110, 110, 130, 130
		t.Errorf("events in [100 s, 131 s) = %d", n)
	}
	stop := errors.New("stop")
	if err := l.Read(ctx, time.Time{}, time.Time{}, func(Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error = %v", err)
	}
}

func TestFileCallbacksSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "callbacks.json")
	f, err := OpenFileCallbacks(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Save(ctx, Callback{ID: "cb-2", Queue: "q", Number: "+2", Arrived: t0.Add(time.Second)})
	f.Save(ctx, Callback{ID: "cb-1", Queue: "q", Number: "+1", Arrived: t0, Skills: Skills{"x": 2}})
	f.Save(ctx, Callback{ID: "cb-3", Queue: "q", Number: "+3", Arrived: t0.Add(2 * time.Second)})
	f.Delete(ctx, "cb-3")
	g, err := OpenFileCallbacks(path)
	if err != nil {
		t.Fatal(err)
	}
	cbs, _ := g.Load(ctx)
	if len(cbs) != 2 || cbs[0].ID != "cb-1" || cbs[1].ID != "cb-2" || cbs[0].Skills["x"] != 2 || !cbs[0].Arrived.Equal(t0) {
		t.Fatalf("reloaded = %+v", cbs)
	}
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := OpenFileCallbacks(path); err == nil {
		t.Error("corrupt file accepted")
	}
}
