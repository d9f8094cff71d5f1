package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
)

// sendDigitsManual runs SendDigits on a hand-driven clock, ticking until it returns,
// and gives back every packet the peer got.
func sendDigitsManual(t *testing.T, m manual, pr *peer, digits string, mode DTMFMode, cancelAfter int) ([]packet, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.s.SendDigits(ctx, digits, mode) }()
	eventually(t, 2*time.Second, "SendDigits to start", func() bool {
		m.s.sendMu.Lock()
		defer m.s.sendMu.Unlock()
		if mode == DTMFRFC4733 {
			return m.s.digitOut != nil
		}
		return m.s.player != nil
	})
	var pkts []packet
	var err error
	for k := 0; ; k++ {
		if k == cancelAfter {
			cancel()
			err = <-done
			done = nil
		}
		m.tick(k)
		if pk, ok := pr.recv(time.Second); ok {
			pkts = append(pkts, pk)
		}
		if done != nil {
			m.s.sendMu.Lock()
			finished := m.s.digitOut == nil && (mode == DTMFRFC4733 || m.s.player == nil)
			m.s.sendMu.Unlock()
			if finished { // the tick finished the job: SendDigits is returning
				err = <-done
				done = nil
			}
		}
		if done == nil {
			// A few more ticks show what follows (audio again).
			for j := 1; j <= 3; j++ {
				m.tick(k + j)
				pkts = append(pkts, pr.must(time.Second))
			}
			return pkts, err
		}
		if k > 2000 {
			t.Fatal("SendDigits did not return")
		}
	}
}

// TestSendDigitsRFC4733: each digit is a telephone-event in place of audio: seven
// packets per 100 ms press at 20 ms, all with the event's start timestamp, the marker
// on the first, the end three times, sequence numbers continuing the stream, 70 ms at
// least before the next press; a dtmf.Receiver decodes them to the digits.
func TestSendDigitsRFC4733(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	src := constSource{v: 3000}
	playDone := make(chan error, 1)
	go func() { playDone <- m.s.Play(context.Background(), src) }()
	waitPlaying(t, m.s, src)
	pkts, err := sendDigitsManual(t, m, pr, "12#", DTMFRFC4733, -1)
	if err != nil {
		t.Fatal(err)
	}
	rx := dtmf.NewReceiver()
	var got []byte
	type event struct {
		ts                   uint32
		packets, ends, marks int
	}
	var events []event
	for i, pk := range pkts {
		if i > 0 && pk.h.SequenceNumber != pkts[i-1].h.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, pk.h.SequenceNumber, pkts[i-1].h.SequenceNumber)
		}
		if pk.h.PayloadType != 101 {
			if pk.h.PayloadType != 0 || pk.payload[0] != codec.MulawEncode(3000) {
				t.Fatalf("packet %d: PT %d, not the prompt's audio", i, pk.h.PayloadType)
			}
			continue
		}
		if len(events) == 0 || events[len(events)-1].ts != pk.h.Timestamp {
			events = append(events, event{ts: pk.h.Timestamp})
			// The event starts at the stream's timestamp for that slot.
			if prev := pkts[max(i, 1)-1]; i > 0 && pk.h.Timestamp != prev.h.Timestamp+160 {
				t.Errorf("event at ts %d after audio at %d, want +160", pk.h.Timestamp, prev.h.Timestamp)
			}
		}
		ev := &events[len(events)-1]
		ev.packets++
		e, err := dtmf.ParseEvent(pk.payload)
		if err != nil {
			t.Fatal(err)
		}
		if e.End {
			ev.ends++
			if e.Duration != 800 {
				t.Errorf("end duration %d, want 800 (100 ms)", e.Duration)
			}
		}
		if pk.h.Marker {
			ev.marks++
			if ev.packets != 1 {
				t.Error("marker not on the first packet of the event")
			}
		}
		if d, ok, err := rx.Push(pk.h.SSRC, pk.h.Timestamp, pk.payload, time.Now()); err != nil {
			t.Fatal(err)
		} else if ok {
			got = append(got, d)
		}
	}
	if string(got) != "12#" {
		t.Fatalf("receiver decoded %q, want 12#", got)
	}
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	for i, ev := range events {
		if ev.packets != 7 || ev.ends != 3 || ev.marks != 1 {
			t.Errorf("event %d: %d packets, %d ends, %d markers; want 7, 3, 1", i, ev.packets, ev.ends, ev.marks)
		}
		if i > 0 && ev.ts-events[i-1].ts < 8*170 {
			t.Errorf("event %d starts %d units after the previous, want at least 170 ms", i, ev.ts-events[i-1].ts)
		}
	}
	if last := pkts[len(pkts)-1]; last.h.PayloadType != 0 {
		t.Error("the prompt did not resume after the digits")
	}
	_ = m.s.Close()
	if err := <-playDone; !errors.Is(err, ErrClosed) {
		t.Errorf("prompt: %v", err)
	}
}

// TestSendDigitsInband plays the tones like a prompt; a Q.24 detector on the decoded
// G.711 hears the digits.
func TestSendDigitsInband(t *testing.T) {
	m, pr := startManual(t, Config{}, func(p *Params) { p.DTMFPayloadType = -1 })
	pkts, err := sendDigitsManual(t, m, pr, "47*", DTMFAuto, -1) // auto: no telephone-event
	if err != nil {
		t.Fatal(err)
	}
	det, err := dtmf.NewDetector(8000)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, pk := range pkts {
		if pk.h.PayloadType != 0 {
			t.Fatalf("PT %d in-band", pk.h.PayloadType)
		}
		got = append(got, det.Process(decodeMulaw(pk.payload))...)
	}
	if string(got) != "47*" {
		t.Fatalf("detected %q, want 47*", got)
	}
	if d := time.Duration(len(pkts)-3) * 20 * time.Millisecond; d < 3*170*time.Millisecond || d > 3*170*time.Millisecond+40*time.Millisecond {
		t.Errorf("in-band digits took %v", d)
	}
}

// TestSendDigitsErrors: refusals, cancellation (the event in progress still ends
// properly), and Close.
func TestSendDigitsErrors(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, withManualClock())
	s := newTestSession(t, e)
	ctx := context.Background()
	if err := s.SendDigits(ctx, "1", DTMFAuto); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("before Configure: %v", err)
	}
	m, pr := startManual(t, Config{}, nil)
	if err := m.s.SendDigits(ctx, "1x", DTMFRFC4733); !errors.Is(err, dtmf.ErrUnknownEvent) {
		t.Errorf("bad digit: %v", err)
	}
	if err := m.s.SendDigits(ctx, "1", DTMFModeUnknown); !errors.Is(err, ErrDTMFMode) {
		t.Errorf("unknown mode: %v", err)
	}
	if err := m.s.SendDigits(ctx, "", DTMFRFC4733); err != nil {
		t.Errorf("no digits: %v", err)
	}
	noTE := pcmu(pr.addr)
	noTE.DTMFPayloadType = -1
	if err := m.s.Configure(noTE); err != nil {
		t.Fatal(err)
	}
	if err := m.s.SendDigits(ctx, "1", DTMFRFC4733); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("without telephone-event: %v", err)
	}
	if err := m.s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	// Cancel during the first event: SendDigits returns at once, the event ends with
	// its three end packets, and no second event starts.
	pkts, err := sendDigitsManual(t, m, pr, "12", DTMFRFC4733, 3)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	var ends, events int
	for _, pk := range pkts {
		if pk.h.PayloadType == 101 {
			events++
			if ev, _ := dtmf.ParseEvent(pk.payload); ev.End {
				ends++
			}
		}
	}
	if events != 7 || ends != 3 {
		t.Errorf("after cancel: %d event packets, %d ends; want the first event whole (7, 3)", events, ends)
	}
	for _, mode := range []string{"auto", "rfc4733", "inband"} {
		if md, err := ParseDTMFMode(mode); err != nil || md.String() != mode {
			t.Errorf("ParseDTMFMode(%q) = %v, %v", mode, md, err)
		}
	}
	if _, err := ParseDTMFMode("info"); !errors.Is(err, ErrDTMFMode) {
		t.Error("ParseDTMFMode(info) accepted")
	}
	done := make(chan error, 1)
	go func() { done <- m.s.SendDigits(ctx, "999", DTMFRFC4733) }()
	eventually(t, time.Second, "the job", func() bool {
		m.s.sendMu.Lock()
		defer m.s.sendMu.Unlock()
		return m.s.digitOut != nil
	})
	_ = m.s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("across Close: %v", err)
	}
}

// TestSendDigitsBetweenSessions: on the real clock, the digits one session sends as
// RFC 4733 events are reported once each by the other.
func TestSendDigitsBetweenSessions(t *testing.T) {
	e, _ := newTestEngine(t, Config{})
	a, b := newTestSession(t, e), newTestSession(t, e)
	if err := a.Configure(pcmu(b.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	if err := b.Configure(pcmu(a.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	a.Start()
	b.Start()
	if err := a.SendDigits(context.Background(), "159D", DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	if got := readDigits(t, b, 4, 2*time.Second); got != "159D" {
		t.Fatalf("B got %q", got)
	}
}
