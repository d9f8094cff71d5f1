package media

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

const testTimeout = 600 * time.Millisecond

// timedOutWithin reports whether s.TimedOut closed within d.
func timedOutWithin(s *Session, d time.Duration) bool {
	select {
	case <-s.TimedOut():
		return true
	case <-time.After(d):
		return false
	}
}

// timeoutSession is a started session with a 600 ms RTP timeout.
func timeoutSession(t *testing.T, edit func(*Params)) (*Session, *peer) {
	t.Helper()
	pr := newPeer(t, "127.0.0.1")
	e, _ := newTestEngine(t, Config{Timeout: testTimeout})
	s := newTestSession(t, e)
	p := pcmu(pr.addr)
	if edit != nil {
		edit(&p)
	}
	if err := s.Configure(p); err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s, pr
}

func TestRTPTimeout(t *testing.T) {
	t.Run("silent caller times out once", func(t *testing.T) {
		t.Parallel()
		s, _ := timeoutSession(t, nil)
		began := time.Now()
		if !timedOutWithin(s, 3*time.Second) {
			t.Fatal("no timeout after 3 s without RTP")
		}
		// Never early; how late depends on the machine's load, and timedOutWithin bounds it.
		if took := time.Since(began); took < testTimeout {
			t.Errorf("timed out after %v, before the %v timeout", took, testTimeout)
		}
		time.Sleep(2 * housekeepEvery) // further housekeeping must not close it again
		reg := metricsOf(t, s)
		if n := metric(t, reg, "hotline_rtp_timeouts_total"); n != 1 {
			t.Errorf("timeouts counted %v, want 1", n)
		}
	})
	t.Run("packets keep it open", func(t *testing.T) {
		t.Parallel()
		s, pr := timeoutSession(t, nil)
		stop := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(stop) {
			pr.sendAudio(s.LocalAddr())
			select {
			case <-s.TimedOut():
				t.Fatal("timed out while the caller sends")
			case <-time.After(100 * time.Millisecond):
			}
		}
		if !timedOutWithin(s, 2*time.Second) {
			t.Fatal("no timeout after the caller stopped")
		}
	})
	for _, c := range []struct {
		name string
		edit func(*Params)
	}{
		{"inactive", func(p *Params) { p.Send, p.Recv = false, false }},
		{"caller holds us (recvonly)", func(p *Params) { p.Send = false }},
		{"we hold the caller (sendonly)", func(p *Params) { p.Recv = false }},
		{"old-style hold 0.0.0.0", func(p *Params) { p.Remote = netip.MustParseAddrPort("0.0.0.0:9") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, _ := timeoutSession(t, c.edit)
			if timedOutWithin(s, testTimeout+3*housekeepEvery) {
				t.Fatal("timed out while on hold")
			}
		})
	}
	t.Run("resume after hold restarts the timeout", func(t *testing.T) {
		t.Parallel()
		s, pr := timeoutSession(t, func(p *Params) { p.Send, p.Recv = false, false })
		time.Sleep(testTimeout + 2*housekeepEvery) // held longer than the timeout
		if err := s.Configure(pcmu(pr.addr)); err != nil {
			t.Fatal(err)
		}
		if timedOutWithin(s, testTimeout-100*time.Millisecond) {
			t.Fatal("timed out right after the call resumed")
		}
		if !timedOutWithin(s, 2*time.Second) {
			t.Fatal("no timeout after resuming without RTP")
		}
	})
	t.Run("not before Start", func(t *testing.T) {
		t.Parallel()
		pr := newPeer(t, "127.0.0.1")
		e, _ := newTestEngine(t, Config{Timeout: testTimeout})
		s := newTestSession(t, e)
		if err := s.Configure(pcmu(pr.addr)); err != nil {
			t.Fatal(err)
		}
		if timedOutWithin(s, testTimeout+3*housekeepEvery) {
			t.Fatal("timed out before Start")
		}
	})
}

// TestDirection: a session that must not send still paces its playback, and sends
// nothing, whether the direction or the address says so.
func TestDirection(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Params)
	}{
		{"send false", func(p *Params) { p.Send = false }},
		{"remote 0.0.0.0", func(p *Params) { p.Remote = netip.AddrPortFrom(netip.IPv4Unspecified(), p.Remote.Port()) }},
		{"remote port 0", func(p *Params) { p.Remote = netip.AddrPortFrom(p.Remote.Addr(), 0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, pr := startManual(t, Config{}, nil)
			m.tick(0) // sendrecv first, so the marker after resuming is not the initial one
			pk0 := pr.must(time.Second)
			held := pcmu(pr.addr)
			c.edit(&held)
			if err := m.s.Configure(held); err != nil {
				t.Fatal(err)
			}
			clip := NewClip(tone(1000, 8000, 3*160))
			done := make(chan error, 1)
			go func() { done <- m.s.Play(context.Background(), clip) }()
			waitPlaying(t, m.s, clip)
			for k := 1; k <= 3; k++ {
				m.tick(k)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Second):
				t.Fatal("Play did not complete while not sending")
			}
			pr.none(30 * time.Millisecond)
			if m.s.Stats().PacketsSent != 1 {
				t.Fatal("packets counted as sent while not sending")
			}

			// Back to sendrecv: the first packet carries the marker (a new talk
			// spurt) and its timestamp shows the time that passed.
			if err := m.s.Configure(pcmu(pr.addr)); err != nil {
				t.Fatal(err)
			}
			m.tick(4)
			m.tick(5)
			first, second := pr.must(time.Second), pr.must(time.Second)
			if !first.h.Marker || second.h.Marker {
				t.Errorf("markers %v %v after resuming, want true false", first.h.Marker, second.h.Marker)
			}
			if first.h.Timestamp-pk0.h.Timestamp != 4*160 || second.h.Timestamp-first.h.Timestamp != 160 {
				t.Errorf("timestamps %d, %d after %d: want +640, +160", first.h.Timestamp, second.h.Timestamp, pk0.h.Timestamp)
			}
			if first.h.SequenceNumber != pk0.h.SequenceNumber+1 {
				t.Errorf("sequence jumped from %d to %d across the hold", pk0.h.SequenceNumber, first.h.SequenceNumber)
			}
		})
	}
}
