package media

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// TestConcurrentConfigure re-configures a session over and over (remote, codec, ptime,
// direction) while the real clock sends, the receive loop takes packets and digits from
// two sources, a flow plays and reads digits. Run with -race.
func TestConcurrentConfigure(t *testing.T) {
	e, _ := newTestEngine(t, Config{Timeout: time.Second})
	s := newTestSession(t, e)
	a, b := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	if err := s.Configure(pcmu(a.addr)); err != nil {
		t.Fatal(err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		ps := []Params{pcmu(a.addr), pcmu(b.addr), pcmu(netip.MustParseAddrPort("0.0.0.0:0"))}
		ps[1].Codec, ps[1].PayloadType, ps[1].Ptime = codec.PCMA, 8, 40*time.Millisecond
		ps[2].Send = false
		for i := 0; ctx.Err() == nil; i++ {
			if err := s.Configure(ps[i%len(ps)]); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	for _, p := range []*peer{a, b} {
		wg.Go(func() {
			for ctx.Err() == nil {
				p.sendAudio(s.LocalAddr())
				p.sendDigits(s.LocalAddr(), "1")
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			pctx, stop := context.WithTimeout(ctx, 15*time.Millisecond)
			err := s.Play(pctx, NewClip(tone(1000, 8000, 800)))
			stop()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Errorf("Play: %v", err)
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-s.Digits():
			case <-ctx.Done():
				return
			}
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = s.Stats()
			_ = s.SampleRate()
			s.InjectDigit('9')
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	if s.Stats().PacketsSent == 0 || s.Stats().PacketsReceived == 0 {
		t.Errorf("stats %+v: the stream did not run", s.Stats())
	}
}

// TestCloseWhilePlaying closes sessions while Play, Start and Configure race with it:
// every Play ends (ErrClosed, or nil when its audio was already out) and nothing leaks.
func TestCloseWhilePlaying(t *testing.T) {
	e, _ := newTestEngine(t, Config{Quarantine: time.Nanosecond})
	pr := newPeer(t, "127.0.0.1")
	for i := range 100 {
		s, err := e.NewSession(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Configure(pcmu(pr.addr)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Go(func() { errs <- s.Play(context.Background(), NewClip(tone(440, 8000, 160*(i%4)))) })
		}
		wg.Go(s.Start)
		wg.Go(func() { _ = s.Configure(pcmu(pr.addr)) })
		time.Sleep(time.Duration(i%3) * 10 * time.Millisecond)
		wg.Go(func() { _ = s.Close() })
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Play or Close hung", i)
		}
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrInterrupted) {
				t.Fatalf("round %d: Play returned %v", i, err)
			}
		}
	}
}
