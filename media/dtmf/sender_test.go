package dtmf

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// sent is one packet produced by Sender.Next.
type sent struct {
	ev     Event
	marker bool
	done   bool
}

// drain runs Next until done, failing on runaway senders.
func drain(t testing.TB, s *Sender) []sent {
	t.Helper()
	var out []sent
	buf := make([]byte, 16)
	for i := 0; ; i++ {
		if i > 0x10000+endRepeats {
			t.Fatal("Sender never finished")
		}
		n, marker, done := s.Next(buf)
		if n == 0 {
			if !done {
				t.Fatal("Next wrote nothing and is not done")
			}
			return out
		}
		ev, err := ParseEvent(buf[:n])
		if err != nil {
			t.Fatalf("Next wrote %x: %v", buf[:n], err)
		}
		out = append(out, sent{ev, marker, done})
		if done {
			return out
		}
	}
}

func TestSenderSequence(t *testing.T) {
	tests := []struct {
		digit     byte
		dur       time.Duration
		clock, pt int
		durations []uint16 // updates then the three ends
	}{
		{'5', 100 * time.Millisecond, 8000, 20, []uint16{160, 320, 480, 640, 800, 800, 800}},
		{'#', 90 * time.Millisecond, 8000, 20, []uint16{160, 320, 480, 640, 720, 720, 720}},
		{'1', 250 * time.Millisecond, 8000, 50, []uint16{400, 800, 1200, 1600, 2000, 2000, 2000}},
		{'a', 100 * time.Millisecond, 48000, 20, []uint16{960, 1920, 2880, 3840, 4800, 4800, 4800}},
		{'*', 20 * time.Millisecond, 8000, 20, []uint16{160, 160, 160}},
		{'0', 5 * time.Millisecond, 8000, 20, []uint16{40, 40, 40}},
		{'D', 30 * time.Millisecond, 8000, 10, []uint16{80, 160, 240, 240, 240}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%c/%v/%d/%dms", tc.digit, tc.dur, tc.clock, tc.pt), func(t *testing.T) {
			var s Sender
			if err := s.Start(tc.digit, tc.dur, tc.clock, tc.pt); err != nil {
				t.Fatal(err)
			}
			if !s.Active() {
				t.Fatal("not Active after Start")
			}
			out := drain(t, &s)
			if len(out) != len(tc.durations) {
				t.Fatalf("%d packets, want %d: %+v", len(out), len(tc.durations), out)
			}
			code, _ := CodeFromDigit(tc.digit)
			for i, p := range out {
				last := i == len(out)-1
				isEnd := i >= len(out)-3
				want := Event{Code: code, End: isEnd, Volume: DefaultVolume, Duration: tc.durations[i]}
				if p.ev != want || p.marker != (i == 0) || p.done != last {
					t.Errorf("packet %d: %+v marker %v done %v; want %+v marker %v done %v",
						i, p.ev, p.marker, p.done, want, i == 0, last)
				}
			}
			if s.Active() {
				t.Error("still Active after done")
			}
			if n, m, done := s.Next(make([]byte, 4)); n != 0 || m || !done {
				t.Errorf("Next when idle = %d, %v, %v", n, m, done)
			}
		})
	}
}

func TestSenderIdleZeroValue(t *testing.T) {
	var s Sender
	if n, m, done := s.Next(make([]byte, 4)); n != 0 || m || !done || s.Active() {
		t.Errorf("zero Sender: Next = %d, %v, %v, Active %v", n, m, done, s.Active())
	}
}

func TestSenderShortBuffer(t *testing.T) {
	var s Sender
	if err := s.Start('1', 40*time.Millisecond, 8000, 20); err != nil {
		t.Fatal(err)
	}
	if n, m, done := s.Next(make([]byte, 3)); n != 0 || m || done {
		t.Fatalf("short buffer: %d, %v, %v", n, m, done)
	}
	out := drain(t, &s) // nothing was consumed by the failed call
	if len(out) != 4 || !out[0].marker || out[0].ev.Duration != 160 {
		t.Errorf("after short buffer: %+v", out)
	}
}

func TestSenderStartErrors(t *testing.T) {
	tests := []struct {
		name      string
		digit     byte
		dur       time.Duration
		clock, pt int
		want      error
	}{
		{"unknown digit", 'x', 100 * time.Millisecond, 8000, 20, ErrUnknownEvent},
		{"E", 'E', 100 * time.Millisecond, 8000, 20, ErrUnknownEvent},
		{"flash char", '!', 100 * time.Millisecond, 8000, 20, ErrUnknownEvent},
		{"NUL", 0, 100 * time.Millisecond, 8000, 20, ErrUnknownEvent},
		{"zero clock", '1', 100 * time.Millisecond, 0, 20, ErrBadClock},
		{"negative clock", '1', 100 * time.Millisecond, -8000, 20, ErrBadClock},
		{"huge clock", '1', 100 * time.Millisecond, 1 << 40, 20, ErrBadClock},
		{"zero ptime", '1', 100 * time.Millisecond, 8000, 0, ErrBadClock},
		{"negative ptime", '1', 100 * time.Millisecond, 8000, -20, ErrBadClock},
		{"ptime below one tick", '1', 100 * time.Millisecond, 100, 1, ErrBadClock},
		{"ptime beyond duration field", '1', 100 * time.Millisecond, 8000, 10000, ErrBadClock},
		{"huge ptime", '1', 100 * time.Millisecond, 8000, 1 << 40, ErrBadClock},
		{"zero duration", '1', 0, 8000, 20, ErrBadDuration},
		{"negative duration", '1', -time.Second, 8000, 20, ErrBadDuration},
		{"below one tick", '1', 100 * time.Microsecond, 8000, 20, ErrBadDuration},
		{"over 0xFFFF ticks", '1', 9 * time.Second, 8000, 20, ErrBadDuration},
		{"over 0xFFFF ticks at 48k", '1', 1400 * time.Millisecond, 48000, 20, ErrBadDuration},
		{"max duration", '1', time.Duration(1<<63 - 1), 8000, 20, ErrBadDuration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Sender
			if err := s.Start(tc.digit, tc.dur, tc.clock, tc.pt); !errors.Is(err, tc.want) {
				t.Fatalf("Start = %v, want %v", err, tc.want)
			}
			if s.Active() {
				t.Error("Active after failed Start")
			}
		})
	}
}

func TestSenderBusy(t *testing.T) {
	var s Sender
	if err := s.Start('1', 100*time.Millisecond, 8000, 20); err != nil {
		t.Fatal(err)
	}
	s.Next(make([]byte, 4))
	if err := s.Start('2', 100*time.Millisecond, 8000, 20); !errors.Is(err, ErrBusy) {
		t.Fatalf("Start while sending = %v, want ErrBusy", err)
	}
	out := drain(t, &s)
	if out[0].ev.Code != 1 {
		t.Errorf("failed Start disturbed the event: %+v", out)
	}
	if err := s.Start('2', 100*time.Millisecond, 8000, 20); err != nil {
		t.Fatalf("Start after done: %v", err)
	}
	if out := drain(t, &s); !out[0].marker || out[0].ev.Code != 2 {
		t.Errorf("second event: %+v", out)
	}
}

// TestSenderToReceiver sends every digit, twice in a row, through a Receiver,
// with the timestamps and a 20 ms clock the way a media session would.
func TestSenderToReceiver(t *testing.T) {
	const digits = "0123456789*#ABCD"
	var s Sender
	var r Receiver
	var got []byte
	ts := uint32(0xfffff000) // cross the wrap on the way
	now := t0
	buf := make([]byte, EventSize)
	for i := 0; i < 2*len(digits); i++ {
		if err := s.Start(digits[i%len(digits)], 120*time.Millisecond, 8000, 20); err != nil {
			t.Fatal(err)
		}
		for {
			n, _, done := s.Next(buf)
			if d, ok, err := r.Push(0x5eed, ts, buf[:n], now); err != nil {
				t.Fatal(err)
			} else if ok {
				got = append(got, d)
			}
			now = now.Add(20 * time.Millisecond)
			if done {
				break
			}
		}
		ts += 8000 // the next key press starts a second later
	}
	if d, ok := r.Flush(); ok {
		got = append(got, d)
	}
	if want := digits + digits; string(got) != want {
		t.Errorf("received %q, want %q", got, want)
	}
}
