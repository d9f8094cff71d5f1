package media

import (
	"net/netip"
	"testing"
	"time"
)

// latchRig is a started session on a hand-driven clock with three would-be callers:
// a (the SDP address), b (same IP, other port: the NAT'd real source) and c on
// 127.0.0.2 (a third party).
type latchRig struct {
	t       *testing.T
	m       manual
	k       int
	a, b, c *peer
}

func newLatchRig(t *testing.T, latch Latch, edit func(*Params, *latchRig)) *latchRig {
	t.Helper()
	e, _ := newTestEngine(t, Config{Latch: latch}, withManualClock())
	r := &latchRig{t: t, a: newPeer(t, "127.0.0.1"), b: newPeer(t, "127.0.0.1"), c: newPeer(t, "127.0.0.2")}
	s := newTestSession(t, e)
	p := pcmu(r.a.addr)
	if edit != nil {
		edit(&p, r)
	}
	if err := s.Configure(p); err != nil {
		t.Fatal(err)
	}
	s.Start()
	r.m = manual{s: s, t0: time.Now()}
	return r
}

// expectAt ticks once and checks that exactly want got the packet.
func (r *latchRig) expectAt(want *peer) {
	r.t.Helper()
	r.m.tick(r.k)
	r.k++
	want.must(time.Second)
	for _, p := range []*peer{r.a, r.b, r.c} {
		if p != want {
			p.none(5 * time.Millisecond)
		}
	}
}

// from sends one audio packet from p and waits until the session handled it.
func (r *latchRig) from(p *peer) {
	r.t.Helper()
	st := r.m.s.Stats()
	before := st.PacketsReceived + st.Garbage
	p.sendAudio(r.m.s.LocalAddr())
	eventually(r.t, 2*time.Second, "the packet to be handled", func() bool {
		st := r.m.s.Stats()
		return st.PacketsReceived+st.Garbage > before
	})
}

func (r *latchRig) counts() (accepted, garbage uint64) {
	st := r.m.s.Stats()
	return st.PacketsReceived, st.Garbage
}

func TestLatchAuto(t *testing.T) {
	t.Run("follows the real source on the SDP IP", func(t *testing.T) {
		r := newLatchRig(t, LatchAuto, nil)
		r.expectAt(r.a)
		r.from(r.b)
		r.expectAt(r.b)
		r.from(r.c) // third party after the latch: dropped, audio stays
		r.expectAt(r.b)
		if acc, garb := r.counts(); acc != 1 || garb != 1 {
			t.Fatalf("accepted %d garbage %d, want 1 and 1", acc, garb)
		}
		reg := metricsOf(t, r.m.s)
		if n := metric(t, reg, "hotline_rtp_garbage_packets_total", "reason", "foreign_source"); n != 1 {
			t.Errorf("foreign_source %v, want 1", n)
		}
	})
	t.Run("third party first cannot hijack", func(t *testing.T) {
		r := newLatchRig(t, LatchAuto, nil)
		r.from(r.c)
		r.expectAt(r.a)
		r.from(r.c)
		r.expectAt(r.a)
		if acc, garb := r.counts(); acc != 0 || garb != 2 {
			t.Fatalf("accepted %d garbage %d, want 0 and 2", acc, garb)
		}
		if n := metric(t, metricsOf(t, r.m.s), "hotline_rtp_garbage_packets_total", "reason", "foreign_source"); n != 2 {
			t.Errorf("foreign_source %v, want 2", n)
		}
	})
	t.Run("signalling source is trusted", func(t *testing.T) {
		r := newLatchRig(t, LatchAuto, func(p *Params, r *latchRig) {
			p.SignalingSource = r.c.addr.Addr()
		})
		r.expectAt(r.a)
		r.from(r.c)
		r.expectAt(r.c)
	})
	t.Run("new remote resets the latch", func(t *testing.T) {
		r := newLatchRig(t, LatchAuto, nil)
		r.from(r.b)
		r.expectAt(r.b)
		d := newPeer(t, "127.0.0.1")
		p := pcmu(d.addr)
		if err := r.m.s.Configure(p); err != nil {
			t.Fatal(err)
		}
		r.m.tick(r.k)
		r.k++
		d.must(time.Second)
		r.b.none(5 * time.Millisecond)
		// The same remote again (a codec-only re-INVITE) keeps a latch.
		r.from(r.b)
		if err := r.m.s.Configure(p); err != nil {
			t.Fatal(err)
		}
		r.expectAt(r.b)
	})
	t.Run("hold is not overridden by a latch", func(t *testing.T) {
		r := newLatchRig(t, LatchAuto, func(p *Params, r *latchRig) {
			p.Remote = netip.MustParseAddrPort("0.0.0.0:4000")
			p.SignalingSource = r.a.addr.Addr()
		})
		r.from(r.a)
		r.m.tick(0)
		r.a.none(20 * time.Millisecond)
		if acc, _ := r.counts(); acc != 1 {
			t.Fatalf("caller's packet during hold not accepted")
		}
	})
}

func TestLatchAny(t *testing.T) {
	r := newLatchRig(t, LatchAny, nil)
	r.expectAt(r.a)
	r.from(r.c) // the first source wins, whatever its address
	r.expectAt(r.c)
	r.from(r.a) // and is the only one accepted afterwards
	r.expectAt(r.c)
	if acc, garb := r.counts(); acc != 1 || garb != 1 {
		t.Fatalf("accepted %d garbage %d, want 1 and 1", acc, garb)
	}
	// A new remote starts over.
	d := newPeer(t, "127.0.0.1")
	if err := r.m.s.Configure(pcmu(d.addr)); err != nil {
		t.Fatal(err)
	}
	r.m.tick(r.k)
	r.k++
	d.must(time.Second)
	r.from(r.b)
	r.expectAt(r.b)
}

func TestLatchOff(t *testing.T) {
	r := newLatchRig(t, LatchOff, nil)
	r.from(r.b)
	r.from(r.c)
	r.expectAt(r.a)
	if acc, garb := r.counts(); acc != 2 || garb != 0 {
		t.Fatalf("accepted %d garbage %d, want 2 and 0", acc, garb)
	}
}
