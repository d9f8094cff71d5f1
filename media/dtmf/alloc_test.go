package dtmf

import (
	"testing"
	"time"
)

// TestZeroAllocs keeps the per-packet promise in the ordinary test run:
// receiving, expiring and sending telephone-events never allocate, nor does
// parsing a valid INFO body.
func TestZeroAllocs(t *testing.T) {
	var r Receiver
	var s Sender
	start, end := pl(3, false, 0), pl(3, true, 800)
	bad := []byte{1, 2}
	buf := make([]byte, EventSize)
	body := []byte("Signal=5\r\nDuration=160\r\n")
	ts := uint32(0)
	now := t0
	allocs := testing.AllocsPerRun(200, func() {
		ts += 1600
		now = now.Add(time.Second)
		_, _, _ = r.Push(9, ts, start, now)
		_, _, _ = r.Push(9, ts, end, now)
		_, _, _ = r.Push(9, ts, bad, now)
		r.Expire(now)
		r.Flush()
		if err := s.Start('7', 60*time.Millisecond, 8000, 20); err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, done := s.Next(buf); done {
				break
			}
		}
		if _, _, err := ParseInfo("application/dtmf-relay", body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per key press, want 0", allocs)
	}
}
