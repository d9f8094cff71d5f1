package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it):\n--- got\n%s--- want\n%s", path, t.Name(), got, want)
	}
}

// timelineFixture is a call as `hotline calls show` prints it: SIP, flow,
// prompts, speech, DTMF, queue and quality, with hostile text in it.
func timelineFixture() (store.CallRecord, []store.CallEvent) {
	rec := fullRecord("c-0001", t0)
	rec.Vars = json.RawMessage(`{"account":"123-456","vip":true}`)
	ev := func(d time.Duration, kind store.EventKind, name, detail string) store.CallEvent {
		return store.CallEvent{CallID: rec.ID, At: t0.Add(d), Kind: kind, Name: name, Detail: detail}
	}
	events := []store.CallEvent{
		ev(0, store.KindSIP, "INVITE", "from +8613800138000 to 10086 via carrier-a (udp), offer PCMU PCMA telephone-event"),
		ev(20*time.Millisecond, store.KindSIP, "100 Trying", ""),
		ev(250*time.Millisecond, store.KindSIP, "200 OK", "answer PCMU/8000"),
		ev(260*time.Millisecond, store.KindNode, "welcome", "say"),
		ev(270*time.Millisecond, store.KindPrompt, "welcome", "Welcome to the telecom hotline. 欢迎致电。"),
		ev(3500*time.Millisecond, store.KindNode, "menu", "intent"),
		ev(6800*time.Millisecond, store.KindSpeech, "final", "I have a question about my bill\x1b[31m (0.87)"),
		ev(6810*time.Millisecond, store.KindNode, "billing", "intent billing_inquiry 0.92 -> ok"),
		ev(7*time.Second, store.KindDTMF, "rfc4733", "1"),
		ev(8*time.Second, store.KindQueue, "ENTERQUEUE", "queue billing, position 1, priority 5"),
		ev(20500*time.Millisecond, store.KindQueue, "CONNECT", "queue billing, agent alice, waited 12.5s, rang 3s"),
		ev(80500*time.Millisecond, store.KindQueue, "COMPLETEAGENT", "queue billing, agent alice, talked 1m0s"),
		ev(81*time.Second, store.KindNode, "survey", "survey"),
		ev(95*time.Second, store.KindRecording, "stored", "/var/lib/hotline/rec/c-0001.wav"),
		ev(124*time.Second, store.KindQuality, "summary", "loss 0.11 %, jitter 3.2 ms, RTT 41.5 ms, MOS 4.31"),
		ev(125*time.Second, store.KindSIP, "BYE", "from caller\nReason: Q.850;cause=16"),
		ev(3725*time.Second, store.KindNote, "late", "an hour later"),
	}
	return rec, events
}

func TestFormatTimeline(t *testing.T) {
	rec, events := timelineFixture()
	var b bytes.Buffer
	if err := store.FormatTimeline(&b, rec, events); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("an escape sequence reached the output")
	}
	golden(t, "timeline.golden", b.Bytes())

	// An active call with nothing but a start, and no events.
	b.Reset()
	if err := store.FormatTimeline(&b, store.CallRecord{ID: "c-0002", State: store.StateActive, StartedAt: t0, Caller: "+15550100"}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "timeline_active.golden", b.Bytes())
}

// ExampleFormatTimeline prints a short call as `hotline calls show` does.
func ExampleFormatTimeline() {
	start := time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)
	rec := store.CallRecord{ID: "c-42", State: store.StateEnded, StartedAt: start,
		AnsweredAt: start.Add(200 * time.Millisecond), EndedAt: start.Add(31 * time.Second),
		Direction: store.DirectionInbound, Caller: "+15550100", Called: "+15550199", Transport: "udp", Codec: "PCMU",
		Flow: "hotline", FlowVersion: "9c1d", Disposition: store.DispositionResolved, Contained: true,
		HangupCause: "normal_clearing", HangupSide: store.HangupCaller}
	events := []store.CallEvent{
		{At: start, Kind: store.KindSIP, Name: "INVITE", Detail: "udp"},
		{At: start.Add(300 * time.Millisecond), Kind: store.KindNode, Name: "welcome", Detail: "say"},
		{At: start.Add(31 * time.Second), Kind: store.KindSIP, Name: "BYE", Detail: "from caller"},
	}
	store.FormatTimeline(os.Stdout, rec, events)
	// Output:
	// Call       c-42 (ended)
	// Direction  inbound, udp, PCMU
	// From       +15550100
	// To         +15550199
	// Started    2026-05-22 09:30:00.000 UTC
	// Answered   +0:00.200
	// Ended      +0:31.000 (lasted 31s), hang-up by caller: normal_clearing
	// Flow       hotline version 9c1d
	// Outcome    resolved, contained in the IVR
	//
	// Timeline
	//   +0:00.000  sip   INVITE   udp
	//   +0:00.300  node  welcome  say
	//   +0:31.000  sip   BYE      from caller
}

// TestShowCall: `hotline calls show` over every backend prints the stored record
// and its timeline, queue events merged in; an unknown id is ErrNotFound.
func TestShowCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		rec := fullRecord("show-1", t0)
		write(t, s, store.FinishCall{Record: rec},
			store.CallEvent{CallID: "show-1", At: t0, Kind: store.KindSIP, Name: "INVITE", Detail: "udp"},
			store.CallEvent{CallID: "show-1", At: at(7 * time.Second), Kind: store.KindSpeech, Name: "final", Detail: "my bill"},
			store.QueueEvent{Time: at(8 * time.Second), Type: store.QueueEnterQueue, Queue: "billing", CallID: "show-1", Position: 1})
		var b bytes.Buffer
		if err := store.ShowCall(ctx, s, "show-1", &b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Call       show-1 (ended)", "Quality    6243 packets received", "+0:00.000  sip     INVITE",
			"+0:07.000  speech  final       my bill", "+0:08.000  queue   ENTERQUEUE  queue billing, position 1"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, b.String())
			}
		}
		if err := store.ShowCall(ctx, s, "nope", &b); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown call: %v, want ErrNotFound", err)
		}
	})
}
