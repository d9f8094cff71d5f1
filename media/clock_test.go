package media

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// countingStream records the times it was ticked.
type countingStream struct {
	mu    sync.Mutex
	ticks []time.Time
}

func (c *countingStream) clockTick(now time.Time, _ *clockShard) {
	c.mu.Lock()
	c.ticks = append(c.ticks, now)
	c.mu.Unlock()
}

func (c *countingStream) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ticks)
}

// times is a copy of the tick times so far.
func (c *countingStream) times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.ticks...)
}

// TestClockTicksStreams runs the real clock goroutines on synctest's fake time: every
// registered stream is ticked every 20 ms, on its own shard, until removed; removal is
// idempotent and Close waits for the shards.
func TestClockTicksStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(2, 20*time.Millisecond)
		a, b := &countingStream{}, &countingStream{}
		_, removeA := c.add(a)
		_, removeB := c.add(b)
		if c.shards[0].len()+c.shards[1].len() != 2 || c.shards[0].len() != 1 {
			t.Fatalf("streams not spread over shards: %d, %d", c.shards[0].len(), c.shards[1].len())
		}
		// a is on shard 1, which ticks half an interval after shard 0 (b's).
		time.Sleep(time.Second + 11*time.Millisecond)
		synctest.Wait()
		if a.count() != 50 || b.count() != 50 {
			t.Fatalf("ticks in 1 s: %d and %d, want 50", a.count(), b.count())
		}
		at, bt := a.times(), b.times()
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d != 20*time.Millisecond {
				t.Fatalf("tick %d came %v after the previous", i, d)
			}
		}
		if d := at[0].Sub(bt[0]); d != 10*time.Millisecond {
			t.Fatalf("shard 1 ticks %v after shard 0, want half the interval", d)
		}
		removeA()
		removeA() // idempotent
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if a.count() != 50 {
			t.Fatalf("removed stream ticked %d more times", a.count()-50)
		}
		if b.count() != 55 {
			t.Fatalf("remaining stream ticked %d times, want 55", b.count())
		}
		removeB()
		c.Close()
		c.Close() // idempotent; synctest fails the test if a shard goroutine is left
		if c.Interval() != 20*time.Millisecond {
			t.Error("Interval")
		}
	})
}

// slowStream takes d of (fake) time at every tick.
type slowStream struct{ d time.Duration }

func (s slowStream) clockTick(time.Time, *clockShard) { time.Sleep(s.d) }

// TestClockTickMetrics checks what the shards report of themselves, on synctest's
// fake time: a tick that starts on time has no lateness and lasts as long as its
// streams keep it busy.
func TestClockTickMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		late := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "late", Buckets: []float64{.0001, .001}})
		busy := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "busy", Buckets: []float64{.001, .002, .004}})
		c := newClock(1, 20*time.Millisecond)
		c.late, c.busy = late, busy
		c.start()
		_, remove := c.add(slowStream{3 * time.Millisecond})
		time.Sleep(200*time.Millisecond + time.Microsecond)
		synctest.Wait()
		remove()
		c.Close()
		lm, bm := &dto.Metric{}, &dto.Metric{}
		if err := late.Write(lm); err != nil {
			t.Fatal(err)
		}
		if err := busy.Write(bm); err != nil {
			t.Fatal(err)
		}
		if n := lm.GetHistogram().GetSampleCount(); n != 10 {
			t.Fatalf("lateness observed %d ticks in 200 ms, want 10", n)
		}
		if s := lm.GetHistogram().GetSampleSum(); s != 0 {
			t.Errorf("lateness sum %v on an idle fake clock, want 0", s)
		}
		if s := bm.GetHistogram().GetSampleSum(); math.Abs(s-10*0.003) > 1e-9 {
			t.Errorf("tick length sum %v, want 10 ticks of 3 ms", s)
		}
		if b := bm.GetHistogram().GetBucket(); b[1].GetCumulativeCount() != 0 || b[2].GetCumulativeCount() != 10 {
			t.Errorf("tick lengths not in the (2, 4] ms bucket: %v", b)
		}
	})
}

// TestClockCatchUp drives a session's tick with chosen times: a late tick sends the
// missed frames, at most maxCatchUpFrames at once, the rest on the next ticks; a stream
// far behind skips the missed frames (timestamp jump, marker, no burst) and counts it.
func TestClockCatchUp(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	reg := metricsOf(t, m.s)
	recvN := func(n int) []packet {
		t.Helper()
		out := make([]packet, n)
		for i := range out {
			out[i] = pr.must(time.Second)
		}
		pr.none(5 * time.Millisecond)
		return out
	}

	m.tick(0)
	first := recvN(1)[0]
	m.tick(1)
	recvN(1)
	// 180 ms late (under resyncAfter): frames 2..10 are due, 5 go now, 4 next tick.
	m.tick(10)
	late := recvN(maxCatchUpFrames)
	m.tick(11) // due: 7, 8, 9, 10, 11
	rest := recvN(5)
	m.tick(12)
	last := recvN(1)[0]
	for i := 1; i < len(late); i++ {
		if late[i].h.Timestamp-late[i-1].h.Timestamp != 160 {
			t.Fatalf("catch-up frames not contiguous")
		}
	}
	if late[0].h.Timestamp-first.h.Timestamp != 2*160 || rest[len(rest)-1].h.Timestamp-first.h.Timestamp != 11*160 {
		t.Fatalf("catch-up timestamps %d..%d, want frames 2..11 after %d",
			late[0].h.Timestamp, rest[len(rest)-1].h.Timestamp, first.h.Timestamp)
	}
	if metric(t, reg, "hotline_media_clock_resyncs_total") != 0 {
		t.Fatal("resync counted for a small delay")
	}

	// Two seconds without a tick: skip, do not burst.
	m.tick(112)
	pks := recvN(1)
	if !pks[0].h.Marker {
		t.Error("no marker after a resync")
	}
	if d := pks[0].h.Timestamp - last.h.Timestamp; d != 100*160 {
		t.Errorf("timestamp advanced %d over 2 s, want %d", d, 100*160)
	}
	if pks[0].h.SequenceNumber != last.h.SequenceNumber+1 {
		t.Error("sequence number jumped at a resync")
	}
	if n := metric(t, reg, "hotline_media_clock_resyncs_total"); n != 1 {
		t.Errorf("resyncs %v, want 1", n)
	}
	m.tick(113)
	if pk := recvN(1)[0]; pk.h.Marker || pk.h.Timestamp-pks[0].h.Timestamp != 160 {
		t.Error("stream did not resume its pace after the resync")
	}
}

// TestRosterJoinLeave: members come and go in any order while snapshots are
// taken; every snapshot holds exactly the members of its moment, a departed
// member's slots are cleared, and a call's arrival and departure at a thousand
// members a shard cost the same few bytes as at one (no copy of the list).
func TestRosterJoinLeave(t *testing.T) {
	var r roster[*countingStream]
	want := map[*countingStream]func(){}
	check := func(when string) {
		t.Helper()
		snap := r.snapshot()
		if len(snap) != len(want) || r.len() != len(want) {
			t.Fatalf("%s: snapshot of %d, len %d, want %d", when, len(snap), r.len(), len(want))
		}
		seen := map[*countingStream]bool{}
		for _, m := range snap {
			if _, ok := want[m]; !ok || seen[m] {
				t.Fatalf("%s: snapshot holds a stranger or a duplicate", when)
			}
			seen[m] = true
		}
		if tail := r.members[len(r.members):cap(r.members)]; len(tail) > 0 {
			for _, m := range tail {
				if m != nil {
					t.Fatalf("%s: a departed member is still referenced by the list", when)
				}
			}
		}
	}
	check("empty")
	var order []*countingStream
	for range 50 {
		s := &countingStream{}
		want[s] = r.add(s)
		order = append(order, s)
	}
	check("50 joined")
	for i, s := range order {
		if i%3 == 0 {
			want[s]()
			want[s]() // idempotent
			delete(want, s)
		}
	}
	check("every third left")
	check("no change since the last snapshot")
	for _, s := range order {
		if rm, ok := want[s]; ok {
			rm()
			delete(want, s)
		}
	}
	check("all left")

	for range 1000 {
		r.add(&countingStream{})
	}
	r.snapshot()
	perCall := func() float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 200
		for range n {
			rm := r.add(&countingStream{})
			r.snapshot()
			rm()
			r.snapshot()
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / n
	}
	if b := perCall(); b > 1024 {
		t.Errorf("a call joining and leaving a roster of 1,000 allocates %.0f bytes, want no copy of the list", b)
	}
}

// BenchmarkRosterJoinLeave is a call's arrival and departure on a shard of 1,000
// calls, with the tick's snapshot after each.
func BenchmarkRosterJoinLeave(b *testing.B) {
	var r roster[ticker]
	for range 1000 {
		r.add(&countingStream{})
	}
	s := &countingStream{}
	b.ReportAllocs()
	for b.Loop() {
		rm := r.add(s)
		r.snapshot()
		rm()
		r.snapshot()
	}
}
