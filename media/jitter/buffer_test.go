package jitter

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNewValidatesEveryField(t *testing.T) {
	_, err := New(Config{
		ClockRate:     7,
		MinDelay:      300 * time.Millisecond,
		MaxDelay:      250 * time.Millisecond,
		FrameDuration: time.Second,
		MaxPacket:     -1,
	})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	for _, want := range []string{"clock rate", "below min delay", "frame duration", "max packet"} {
		if !containsStr(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := New(Config{ClockRate: 8000, MaxDelay: 3 * time.Second}); !errors.Is(err, ErrConfig) {
		t.Errorf("3 s max delay accepted")
	}
	b, err := New(Config{ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.TargetDelay != DefaultMinDelay {
		t.Errorf("initial target %v, want %v", st.TargetDelay, DefaultMinDelay)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestInOrderConstantDelay: a clean stream comes out complete, in order, each
// packet once, every frame after the same delay, and the end of the stream is
// concealed briefly and then reported as silence.
func TestInOrderConstantDelay(t *testing.T) {
	var ids int
	s := newSender(1000, 5000, 0x1234, &ids)
	ps := arrive(s.talk(500, true), constant(30*time.Millisecond))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(7*time.Millisecond), ptime, t0.Add(11*time.Second))
	checkOrder(t, os)
	if got := played(os); len(got) != 500 || got[0] != 1 || got[499] != 500 {
		t.Fatalf("played %d packets (%v...)", len(got), got[:min(5, len(got))])
	}
	m := byID(ps)
	var delay time.Duration
	first := -1
	for i, o := range os {
		if o.Payload == nil {
			continue
		}
		d := o.at.Sub(m[o.id].at)
		if first < 0 {
			first, delay = i, d
			if !o.NewStream {
				t.Error("first frame lacks NewStream")
			}
		} else if d != delay {
			t.Fatalf("packet %d played %v after arrival, first after %v", o.id, d, delay)
		} else if o.NewStream {
			t.Fatalf("packet %d has NewStream", o.id)
		}
		if o.Duration != ptime {
			t.Fatalf("duration %v", o.Duration)
		}
	}
	if delay < DefaultMinDelay || delay >= DefaultMinDelay+ptime {
		t.Errorf("delay %v, want target %v plus less than one tick", delay, DefaultMinDelay)
	}
	for _, o := range os[:first] {
		if !o.Silence {
			t.Fatalf("before the first packet: %s", o.kind())
		}
	}
	tail := os[first+500:]
	kinds := ""
	for _, o := range tail[:5] {
		kinds += o.kind()[:1]
	}
	if kinds != "lllss" {
		t.Errorf("after the stream stopped: %q, want 3 lost (MaxConceal 60 ms) then silence", kinds)
	}
	st := b.Stats()
	t.Logf("delay %v, stats %+v", delay, st)
	if st.Received != 500 || st.Played != 500 || st.Late+st.Duplicate+st.Reordered+st.Overflow+st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.Jitter != 0 || st.TargetDelay != DefaultMinDelay {
		t.Errorf("jitter %d, target %v on a clean stream", st.Jitter, st.TargetDelay)
	}
}

// TestReorderNeighbours swaps every tenth pair: all are played in order.
func TestReorderNeighbours(t *testing.T) {
	var ids int
	s := newSender(65000, 0, 1, &ids)
	ps := s.talk(300, true)
	for i := 10; i+1 < len(ps); i += 10 {
		ps[i].sent, ps[i+1].sent = ps[i+1].sent, ps[i].sent.Add(time.Millisecond)
	}
	ps = arrive(ps, constant(40*time.Millisecond))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(3*time.Millisecond), ptime, t0.Add(7*time.Second))
	checkOrder(t, os)
	got := played(os)
	if len(got) != 300 || !slices.IsSorted(got) {
		t.Fatalf("played %d, sorted %v", len(got), slices.IsSorted(got))
	}
	st := b.Stats()
	if st.Reordered != 29 || st.Late != 0 || st.Lost != 3 {
		t.Errorf("reordered %d late %d lost %d, want 29, 0, 3 (the stream end)", st.Reordered, st.Late, st.Lost)
	}
}

// TestLatePacketWithinWindow: a packet 60 ms late is still played in order
// when the delay window covers it, and is dropped and counted when it does
// not, after which the target grows.
func TestLatePacketWithinWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min      time.Duration
		wantLate uint64
	}{{"80ms window", 80 * time.Millisecond, 0}, {"default window", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			var ids int
			s := newSender(7, 7, 7, &ids)
			ps := arrive(s.talk(200, true), func(i int, _ pkt) time.Duration {
				if i == 100 {
					return 25*time.Millisecond + 60*time.Millisecond
				}
				return 25 * time.Millisecond
			})
			b := mustNew(t, Config{MinDelay: tc.min})
			os := run(t, b, ps, t0.Add(11*time.Millisecond), ptime, t0.Add(5*time.Second))
			checkOrder(t, os)
			st := b.Stats()
			if st.Late != tc.wantLate {
				t.Errorf("late %d, want %d", st.Late, tc.wantLate)
			}
			n := len(played(os))
			if tc.wantLate == 0 && n != 200 {
				t.Errorf("played %d of 200", n)
			}
			if tc.wantLate == 1 {
				if n != 199 {
					t.Errorf("played %d, want 199", n)
				}
				if st.TargetDelay <= DefaultMinDelay {
					t.Errorf("target %v did not grow after a late packet", st.TargetDelay)
				}
				// The late packet's frame was concealed, exactly at its timestamp.
				ts := byID(ps)[101].ts
				if !slices.ContainsFunc(os, func(o out) bool { return o.Lost && o.Timestamp == ts }) {
					t.Errorf("no Lost frame at the late packet's timestamp %d", ts)
				}
			}
		})
	}
}

// TestDuplicates: copies are dropped and counted, whether the original is
// still buffered or already played.
func TestDuplicates(t *testing.T) {
	var ids int
	s := newSender(100, 100, 2, &ids)
	orig := s.talk(200, true)
	var ps []pkt
	for i, p := range orig {
		ps = append(ps, p)
		if i%5 == 0 {
			d := p
			d.sent = d.sent.Add(time.Millisecond) // still buffered
			ps = append(ps, d)
		}
		if i%7 == 0 {
			d := p
			d.sent = d.sent.Add(100 * time.Millisecond) // already played
			ps = append(ps, d)
		}
	}
	ps = arrive(ps, constant(10*time.Millisecond))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(5*time.Millisecond), ptime, t0.Add(5*time.Second))
	checkOrder(t, os)
	if n := len(played(os)); n != 200 {
		t.Errorf("played %d of 200", n)
	}
	st := b.Stats()
	if want := uint64(40 + 29); st.Duplicate != want || st.Late != 0 {
		t.Errorf("duplicates %d late %d, want %d and 0", st.Duplicate, st.Late, want)
	}
}

// TestRandomLoss: with 5 % of packets missing, the Lost frames are exactly
// where they are missing, carry the missing timestamps, and offer the next
// packet for FEC when it is there.
func TestRandomLoss(t *testing.T) {
	var ids int
	s := newSender(60000, 1<<31, 3, &ids)
	all := s.talk(2000, true)
	rng := rand.New(rand.NewPCG(1, 2))
	var ps []pkt
	missing := map[uint32]bool{}
	for i, p := range all {
		if i > 0 && i < len(all)-1 && rng.Float64() < 0.05 {
			missing[p.ts] = true
			continue
		}
		ps = append(ps, p)
	}
	ps = arrive(ps, constant(35*time.Millisecond))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(13*time.Millisecond), ptime, t0.Add(41*time.Second))
	checkOrder(t, os)
	checkLossPattern(t, os, all, missing)
	st := b.Stats()
	t.Logf("%d missing, stats %+v", len(missing), st)
	if st.Inserted != 0 {
		t.Errorf("%d frames inserted on a jitter-free stream", st.Inserted)
	}
}

// checkLossPattern walks the played stream (up to the last packet) and
// checks that it is exactly all, with Lost frames where missing.
func checkLossPattern(t *testing.T, os []out, all []pkt, missing map[uint32]bool) {
	t.Helper()
	var seq []out
	for _, o := range os {
		if o.Payload != nil || o.Lost {
			seq = append(seq, o)
		}
	}
	if len(seq) < len(all) {
		t.Fatalf("%d frames, want at least %d", len(seq), len(all))
	}
	for i, p := range all {
		o := seq[i]
		if o.Timestamp != p.ts {
			t.Fatalf("frame %d: timestamp %d, want %d (%s)", i, o.Timestamp, p.ts, o.kind())
		}
		if missing[p.ts] != o.Lost {
			t.Fatalf("frame %d (ts %d): %s, missing=%v", i, p.ts, o.kind(), missing[p.ts])
		}
		if o.Lost && i+1 < len(all) && !missing[all[i+1].ts] && o.next != 0 && o.next != all[i+1].id {
			t.Fatalf("frame %d: Next is packet %d, want %d", i, o.next, all[i+1].id)
		}
		if !o.Lost && o.id != p.id {
			t.Fatalf("frame %d: packet %d, want %d", i, o.id, p.id)
		}
	}
}

// TestBurstLoss: bursts of three are concealed frame by frame; a burst
// longer than MaxConceal with nothing buffered turns into silence after
// MaxConceal and playout resumes on schedule.
func TestBurstLoss(t *testing.T) {
	t.Run("bursts of 3", func(t *testing.T) {
		var ids int
		s := newSender(0, 0, 4, &ids)
		all := s.talk(1000, true)
		missing := map[uint32]bool{}
		var ps []pkt
		for i, p := range all {
			if i%50 >= 20 && i%50 < 23 {
				missing[p.ts] = true
				continue
			}
			ps = append(ps, p)
		}
		for _, min := range []time.Duration{0, 100 * time.Millisecond} {
			b := mustNew(t, Config{MinDelay: min})
			os := run(t, b, arrive(slices.Clone(ps), constant(20*time.Millisecond)), t0.Add(time.Millisecond), ptime, t0.Add(21*time.Second))
			checkOrder(t, os)
			checkLossPattern(t, os, all, missing)
			if st := b.Stats(); st.Lost != uint64(len(missing))+3 {
				t.Errorf("min delay %v: lost %d, want %d + 3 at the end", min, st.Lost, len(missing))
			}
		}
	})
	t.Run("burst of 10", func(t *testing.T) {
		var ids int
		s := newSender(0, 0, 4, &ids)
		all := s.talk(100, true)
		ps := slices.Concat(all[:40], all[50:])
		b := mustNew(t, Config{})
		os := run(t, b, arrive(ps, constant(20*time.Millisecond)), t0.Add(time.Millisecond), ptime, t0.Add(3*time.Second))
		checkOrder(t, os)
		i := slices.IndexFunc(os, func(o out) bool { return o.id == all[39].id })
		kinds := ""
		for _, o := range os[i+1 : i+12] {
			kinds += o.kind()[:1]
		}
		if kinds != "lllsssssssp" {
			t.Errorf("burst of 10: %q, want 3 lost, 7 silence, then play", kinds)
		}
		if o := os[i+11]; o.id != all[50].id || o.at.Sub(os[i].at) != 11*ptime {
			t.Errorf("resumed with packet %d after %v", o.id, o.at.Sub(os[i].at))
		}
	})
}

// TestWrapAround crosses 65535->0 and 2^32->0 with reordering and loss
// around the wrap.
func TestWrapAround(t *testing.T) {
	var ids int
	s := newSender(65500, 1<<32-100*g711, 5, &ids)
	all := s.talk(200, true)
	missing := map[uint32]bool{all[40].ts: true, all[101].ts: true}
	var ps []pkt
	for _, p := range all {
		if !missing[p.ts] {
			ps = append(ps, p)
		}
	}
	// Swap the packets either side of the sequence wrap (index 35/36) and
	// of the timestamp wrap (99/100).
	for _, i := range []int{34, 97} {
		ps[i].sent, ps[i+1].sent = ps[i+1].sent, ps[i].sent
	}
	b := mustNew(t, Config{})
	os := run(t, b, arrive(ps, constant(15*time.Millisecond)), t0.Add(2*time.Millisecond), ptime, t0.Add(5*time.Second))
	checkOrder(t, os)
	checkLossPattern(t, os, all, missing)
	if st := b.Stats(); st.Reordered != 2 || st.Resyncs != 0 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSSRCChange: a new SSRC mid-stream (new sequence and timestamp bases)
// is followed without a long gap or a burst, and stragglers of the old one
// are dropped.
func TestSSRCChange(t *testing.T) {
	var ids int
	a := newSender(100, 1000, 0xaaaa, &ids)
	psA := a.talk(100, true)
	bs := newSender(40000, 3_000_000_000, 0xbbbb, &ids)
	bs.t = a.t
	psB := bs.talk(100, false)
	straggler := psA[99]
	straggler.sent = straggler.sent.Add(45 * time.Millisecond)
	ps := arrive(slices.Concat(psA, psB, []pkt{straggler}), constant(30*time.Millisecond))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(9*time.Millisecond), ptime, t0.Add(5*time.Second))
	checkOrder(t, os)
	got := played(os)
	if len(got) != 200 {
		t.Fatalf("played %d of 200", len(got))
	}
	i := slices.IndexFunc(os, func(o out) bool { return o.id == psB[0].id })
	if !os[i].NewStream {
		t.Error("first frame of the new SSRC lacks NewStream")
	}
	if gap := os[i].at.Sub(os[i-1].at); os[i-1].id != psA[99].id || gap != ptime {
		t.Errorf("switch: previous frame %s (packet %d), gap %v", os[i-1].kind(), os[i-1].id, gap)
	}
	st := b.Stats()
	if st.SSRCChanges != 1 || st.Late != 1 {
		t.Errorf("ssrc changes %d late %d, want 1 and 1", st.SSRCChanges, st.Late)
	}
}

// TestTalkspurts: silence suppression gaps (timestamps jump, sequence
// numbers do not, marker on the next packet) are played as silence, not
// concealed beyond MaxConceal, and the next talkspurt starts at the target
// delay after its arrival.
func TestTalkspurts(t *testing.T) {
	var ids int
	s := newSender(500, 0, 6, &ids)
	var all []pkt
	for range 5 {
		all = append(all, s.talk(50, true)...)
		s.pause(40) // 800 ms
	}
	arrived := arrive(slices.Clone(all), constant(50*time.Millisecond))
	b := mustNew(t, Config{MaxConceal: -1})
	os := run(t, b, arrived, t0.Add(4*time.Millisecond), ptime, t0.Add(10*time.Second))
	checkOrder(t, os)
	if n := len(played(os)); n != 250 {
		t.Fatalf("played %d of 250", n)
	}
	p, l, sil := counts(os)
	if l != 0 {
		t.Errorf("%d Lost frames with MaxConceal disabled", l)
	}
	// Every talkspurt keeps the same delay after arrival: nothing shifted.
	m := byID(arrived)
	for _, o := range os {
		if o.Payload != nil && o.at.Sub(m[o.id].at) != 34*time.Millisecond {
			t.Fatalf("packet %d played %v after arrival", o.id, o.at.Sub(m[o.id].at))
		}
	}
	t.Logf("played %d, silence %d", p, sil)

	// With the default MaxConceal the first 60 ms of each gap are concealed,
	// because nothing tells a pause from a loss until the next packet.
	b = mustNew(t, Config{})
	os = run(t, b, arrived, t0.Add(4*time.Millisecond), ptime, t0.Add(10*time.Second))
	checkOrder(t, os)
	if _, l, _ := counts(os); l != 5*3 {
		t.Errorf("%d Lost frames, want 3 per gap", l)
	}
}
