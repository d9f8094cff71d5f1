package jitter

import (
	"slices"
	"testing"
	"time"
)

// TestTimestampJump: a sender that restarts its timestamps (forward or back)
// without changing SSRC or breaking its sequence numbers is followed at once:
// the jumped packet plays right after the last one, as a new stream.
func TestTimestampJump(t *testing.T) {
	for _, jump := range []int64{10 * 60 * 8000, -3600 * 8000, -5 * g711} {
		var ids int
		s := newSender(10, 10_000_000, 11, &ids)
		all := s.talk(100, true)
		s.ts += uint32(jump)
		all = append(all, s.talk(100, jump < 0 && jump > -100*g711)...) // small step back: marked talkspurt
		b := mustNew(t, Config{})
		os := run(t, b, arrive(all, constant(30*time.Millisecond)), t0.Add(3*time.Millisecond), ptime, t0.Add(5*time.Second))
		checkOrder(t, os)
		if got := played(os); len(got) != 200 {
			t.Errorf("jump %d: played %d of 200", jump, len(got))
		}
		i := slices.IndexFunc(os, func(o out) bool { return o.id == 101 })
		if i < 1 || os[i-1].id != 100 || !os[i].NewStream {
			t.Errorf("jump %d: frame before the jump %s (packet %d), NewStream %v", jump, os[i-1].kind(), os[i-1].id, os[i].NewStream)
		}
		if st := b.Stats(); st.Resyncs != 1 || st.Late != 0 {
			t.Errorf("jump %d: resyncs %d late %d", jump, st.Resyncs, st.Late)
		}
	}
}

// TestSequenceRestart: a jump in sequence numbers beyond RFC 3550 A.1's
// limits is believed only when the next packet confirms it; the single
// unconfirmed packet is refused, and a lone wild packet changes nothing.
func TestSequenceRestart(t *testing.T) {
	var ids int
	s := newSender(1000, 0, 12, &ids)
	all := s.talk(100, true)
	wild := all[50]
	wild.seq += 20000
	wild.sent = wild.sent.Add(time.Millisecond)
	all = append(all, wild)
	s.seq += 30000
	all = append(all, s.talk(100, false)...)
	b := mustNew(t, Config{})
	os := run(t, b, arrive(all, constant(30*time.Millisecond)), t0.Add(3*time.Millisecond), ptime, t0.Add(5*time.Second))
	checkOrder(t, os)
	if got := played(os); len(got) != 199 || slices.Contains(got, 101) {
		t.Errorf("played %d (want 199, all but the first of the restart)", len(got))
	}
	st := b.Stats()
	if st.Refused != 2 || st.Resyncs != 1 {
		t.Errorf("refused %d resyncs %d, want 2 and 1", st.Refused, st.Resyncs)
	}
	i := slices.IndexFunc(os, func(o out) bool { return o.id == 102 })
	if o := os[i-1]; !o.Lost || os[i-2].id != 100 || !os[i].NewStream {
		t.Errorf("the refused packet should leave one concealed frame: %s, %s, then a new stream", os[i-2].kind(), o.kind())
	}
}

// TestOverflow: a burst larger than MaxDelay keeps the newest MaxDelay of
// audio, drops and counts the rest, and plays on without Lost frames.
func TestOverflow(t *testing.T) {
	var ids int
	s := newSender(0, 0, 13, &ids)
	all := s.talk(300, true)
	// The path stalls for 500 ms from packet 100, then delivers everything.
	stallFrom := all[100].sent
	ps := arrive(all, func(_ int, p pkt) time.Duration {
		if !p.sent.Before(stallFrom) && p.sent.Before(stallFrom.Add(500*time.Millisecond)) {
			return stallFrom.Add(500 * time.Millisecond).Sub(p.sent)
		}
		return 10 * time.Millisecond
	})
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(5*time.Millisecond), ptime, t0.Add(7*time.Second))
	checkOrder(t, os)
	st := b.Stats()
	t.Logf("%+v", st)
	if st.Overflow == 0 || st.Played+st.Overflow+st.Late+st.Skipped != 300 {
		t.Errorf("played %d + overflow %d + late %d != 300", st.Played, st.Overflow, st.Late)
	}
	if st.Delay > DefaultMaxDelay+ptime {
		t.Errorf("delay %v after the stall, above MaxDelay", st.Delay)
	}

	// A burst pushed before any Pop keeps the newest 11 packets (200 ms plus
	// the frame to play) and plays them back to back.
	b = mustNew(t, Config{})
	s = newSender(0, 0, 14, &ids)
	burst := s.talk(30, true)
	for _, p := range burst {
		b.Push(p.seq, p.ts, p.ssrc, p.marker, payloadOf(p, 160), t0)
	}
	if st := b.Stats(); st.Overflow != 19 || st.Buffered != 11 {
		t.Fatalf("overflow %d buffered %d, want 19 and 11", st.Overflow, st.Buffered)
	}
	now := t0
	f := b.Pop(now)
	for ; f.Silence && now.Before(t0.Add(time.Second)); f = b.Pop(now) {
		now = now.Add(ptime)
	}
	for i := range 11 {
		if idOf(f.Payload) != burst[19+i].id {
			t.Fatalf("pop %d: %+v", i, f)
		}
		now = now.Add(ptime)
		f = b.Pop(now)
	}
}

// TestDisabled: pass-through returns the newest packet at the next Pop with
// no added delay and no reordering.
func TestDisabled(t *testing.T) {
	b := mustNew(t, Config{Disabled: true})
	if f := b.Pop(t0); !f.Silence {
		t.Fatalf("empty: %+v", f)
	}
	var ids int
	s := newSender(100, 0, 15, &ids)
	ps := s.talk(10, true)
	push := func(p pkt) { b.Push(p.seq, p.ts, p.ssrc, p.marker, payloadOf(p, 160), p.sent) }
	push(ps[0])
	if f := b.Pop(ps[0].sent); idOf(f.Payload) != ps[0].id || !f.NewStream {
		t.Fatalf("first: %+v", f)
	}
	push(ps[2])
	push(ps[1]) // older than what is pending: pass-through does not reorder
	if f := b.Pop(ps[2].sent); idOf(f.Payload) != ps[2].id {
		t.Fatalf("reordered: %+v", f)
	}
	push(ps[3])
	push(ps[4]) // two between pops: the newest wins
	if f := b.Pop(ps[4].sent); idOf(f.Payload) != ps[4].id {
		t.Fatalf("newest: %+v", f)
	}
	push(ps[3]) // duplicate, and behind
	kinds := ""
	for i := range 5 {
		kinds += b.Pop(ps[4].sent.Add(time.Duration(i+1) * ptime)).kindString()
	}
	if kinds != "lllss" {
		t.Errorf("after the stream: %q, want 3 lost then silence", kinds)
	}
	st := b.Stats()
	if st.Played != 3 || st.Overflow+st.Late+st.Duplicate != 3 {
		t.Errorf("stats %+v", st)
	}
}

func (f Frame) kindString() string {
	return out{Frame: f}.kind()[:1]
}

// TestPacketDurations: the buffer infers the packet duration from timestamp
// steps, so 10 ms and 30 ms packets, 48 kHz Opus and G.722's 8 kHz clock all
// play completely for a caller that fills 20 ms ticks.
func TestPacketDurations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clock  int
		step   uint32
		dur    time.Duration
		config time.Duration // FrameDuration, from the SDP ptime
	}{
		{"PCMU 10 ms, 20 ms expected", 8000, 80, 10 * time.Millisecond, 0},
		{"PCMU 30 ms, 20 ms expected", 8000, 240, 30 * time.Millisecond, 0},
		{"G.722 20 ms", 8000, 160, 20 * time.Millisecond, 0},
		{"Opus 20 ms", 48000, 960, 20 * time.Millisecond, 0},
		{"Opus 60 ms", 48000, 2880, 60 * time.Millisecond, 60 * time.Millisecond},
		{"Opus 60 ms, 20 ms expected", 48000, 2880, 60 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids int
			s := newSender(9, 9, 16, &ids)
			s.step, s.dur = tc.step, tc.dur
			n := int(3 * time.Second / tc.dur)
			ps := arrive(s.talk(n, true), constant(25*time.Millisecond))
			b := mustNew(t, Config{ClockRate: tc.clock, FrameDuration: tc.config})
			// The media clock needs 20 ms per tick and keeps any remainder.
			var have time.Duration
			var os []out
			i := 0
			for now := t0.Add(3 * time.Millisecond); now.Before(t0.Add(4 * time.Second)); now = now.Add(ptime) {
				for ; i < len(ps) && !ps[i].at.After(now); i++ {
					p := ps[i]
					b.Push(p.seq, p.ts, p.ssrc, p.marker, payloadOf(p, 100), p.at)
				}
				for have < ptime {
					f := b.Pop(now)
					if f.Duration <= 0 {
						t.Fatalf("duration %v", f.Duration)
					}
					have += f.Duration
					os = append(os, out{Frame: f, id: idOf(f.Payload)})
				}
				have -= ptime
			}
			checkOrder(t, os)
			if got := played(os); len(got) != n {
				t.Errorf("played %d of %d", len(got), n)
			}
			last := os[slices.IndexFunc(os, func(o out) bool { return o.id == n })]
			if last.Duration != tc.dur {
				t.Errorf("inferred duration %v, want %v", last.Duration, tc.dur)
			}
			if st := b.Stats(); st.Late+st.Overflow != 0 || st.Lost > uint64(60*time.Millisecond/tc.dur)+1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestReset forgets the stream (the next packet is a new stream even with
// the old SSRC and old numbers) but keeps the counters.
func TestReset(t *testing.T) {
	var ids int
	s := newSender(0, 0, 17, &ids)
	ps := arrive(s.talk(50, true), constant(0))
	b := mustNew(t, Config{})
	os := run(t, b, ps, t0.Add(time.Millisecond), ptime, t0.Add(2*time.Second))
	b.Reset()
	s2 := newSender(0, 0, 17, &ids) // same SSRC, numbers from the start again
	s2.t = t0.Add(3 * time.Second)
	ps2 := arrive(s2.talk(50, true), constant(0))
	os = append(os, run(t, b, ps2, t0.Add(3*time.Second+time.Millisecond), ptime, t0.Add(5*time.Second))...)
	if got := played(os); len(got) != 100 {
		t.Errorf("played %d of 100", len(got))
	}
	i := slices.IndexFunc(os, func(o out) bool { return o.id == 51 })
	if !os[i].NewStream {
		t.Error("first frame after Reset lacks NewStream")
	}
	if st := b.Stats(); st.Received != 100 || st.Played != 100 || st.Buffered != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestQuietShrinksDelay: after a stall, a continuous stream keeps the delay
// it grew; pauses reported with SetQuiet bring it back to the target by
// skipping silent frames, one per Pop, without concealing anything.
func TestQuietShrinksDelay(t *testing.T) {
	var ids int
	s := newSender(0, 0, 18, &ids)
	all := s.talk(400, true)
	stallFrom := all[100].sent
	ps := arrive(all, func(_ int, p pkt) time.Duration {
		if !p.sent.Before(stallFrom) && p.sent.Before(stallFrom.Add(300*time.Millisecond)) {
			return stallFrom.Add(300 * time.Millisecond).Sub(p.sent)
		}
		return 10 * time.Millisecond
	})
	b := mustNew(t, Config{})
	sm := &sim{b: b, ps: ps, now: t0.Add(5 * time.Millisecond), period: ptime}
	os := sm.until(t0.Add(5 * time.Second))
	grown := b.Stats()
	b.SetQuiet(true)
	os = append(os, sm.until(t0.Add(6*time.Second))...)
	shrunk := b.Stats()
	b.SetQuiet(false)
	os = append(os, sm.until(t0.Add(9*time.Second))...)
	checkOrder(t, os)
	end := b.Stats()
	t.Logf("after the stall: delay %v target %v; after 1 s quiet: delay %v, %d frames skipped", grown.Delay, grown.TargetDelay, shrunk.Delay, shrunk.Skipped)
	if grown.Delay < 60*time.Millisecond {
		t.Fatalf("delay %v after the stall: nothing to shrink", grown.Delay)
	}
	if shrunk.Delay > shrunk.TargetDelay+ptime || shrunk.Lost != grown.Lost {
		t.Errorf("quiet: delay %v target %v, lost %d -> %d", shrunk.Delay, shrunk.TargetDelay, grown.Lost, shrunk.Lost)
	}
	if end.Skipped != shrunk.Skipped || end.Played+end.Skipped+end.Late+end.Overflow != 400 {
		t.Errorf("stats %+v", end)
	}
}
