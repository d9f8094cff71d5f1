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

// BenchmarkPushPopCold is BenchmarkPushPop over a thousand calls' buffers in turn, as
// a media clock shard walks its calls. It tells whether the buffer's own layout makes
// it dear when many calls share the caches: on the benchmark VM 275-330 ns against
// 190-255 ns warm, while a profile of the engine at 800 calls put Push and Pop at about
// 2 µs a packet. So what the engine pays is the rest of each call's state and the
// kernel's work evicting the buffers, not the buffers alone (bench/PROFILE.md).
func BenchmarkPushPopCold(b *testing.B) {
	const calls = 1000
	ss := make([]*steady, calls)
	for i := range ss {
		ss[i] = newSteady(b, false)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ss[i].cycle()
		if i++; i == calls {
			i = 0
		}
	}
}
