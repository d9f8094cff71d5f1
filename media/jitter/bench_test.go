package jitter

import (
	"testing"
	"time"
)

// steady drives b with one packet in and one frame out per 20 ms, the
// shape of a call in steady state; every tenth pair swapped and every 50th
// packet lost when rough is set, to cover the reorder and loss paths.
type steady struct {
	b       *Buffer
	payload []byte
	now     time.Time
	seq     uint16
	ts      uint32
	i       int
	rough   bool
	held    bool
}

func newSteady(tb testing.TB, rough bool) *steady {
	s := &steady{b: mustNew(tb, Config{}), payload: make([]byte, 160), now: t0, rough: rough}
	for range 100 { // past the first talkspurt start
		s.cycle()
	}
	return s
}

func (s *steady) cycle() {
	s.i++
	switch {
	case s.rough && s.i%50 == 0: // lost
	case s.rough && s.i%10 == 0: // held back, sent after the next one
		s.held = true
	default:
		s.b.Push(s.seq, s.ts, 7, false, s.payload, s.now)
		if s.held {
			s.b.Push(s.seq-1, s.ts-g711, 7, false, s.payload, s.now)
			s.held = false
		}
	}
	s.seq++
	s.ts += g711
	s.b.Pop(s.now.Add(5 * time.Millisecond))
	s.now = s.now.Add(ptime)
}

// TestZeroAllocs keeps the per-packet promise in the ordinary test run:
// Push and Pop allocate nothing, on clean and rough streams.
func TestZeroAllocs(t *testing.T) {
	for _, rough := range []bool{false, true} {
		s := newSteady(t, rough)
		if a := testing.AllocsPerRun(1000, s.cycle); a != 0 {
			t.Errorf("rough=%v: %v allocations per packet", rough, a)
		}
	}
}

// BenchmarkPushPop is one packet pushed and one frame popped: the jitter
// buffer's whole cost per 20 ms frame of one call.
func BenchmarkPushPop(b *testing.B) {
	for _, bc := range []struct {
		name  string
		rough bool
	}{{"clean", false}, {"reorder+loss", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSteady(b, bc.rough)
			b.ReportAllocs()
			for b.Loop() {
				s.cycle()
			}
		})
	}
}
