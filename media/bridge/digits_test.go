package bridge

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
)

// newLegNoEvents is newLeg without telephone-event: the SDP of an "INFO-only" peer.
func newLegNoEvents(t testing.TB, eng *media.Engine, c codec.Codec, pt uint8) (near, far *media.Session) {
	t.Helper()
	var err error
	if near, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	if far, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]*media.Session{{near, far}, {far, near}} {
		if err := s[0].Configure(media.Params{Codec: c, PayloadType: pt, DTMFPayloadType: -1,
			Remote: s[1].LocalAddr(), Send: true, Recv: true, SignalingSource: netip.MustParseAddr("127.0.0.1")}); err != nil {
			t.Fatalf("configure %s: %v", c.Name(), err)
		}
		s[0].Start()
	}
	t.Cleanup(func() { near.Close(); far.Close() })
	return near, far
}

// fakeInfo is a leg's SIP signalling: it records the INFO digits, or refuses them
// like a peer answering 405.
type fakeInfo struct {
	mu     sync.Mutex
	got    []byte
	refuse bool
	sent   chan byte
}

func (f *fakeInfo) SendInfoDigits(_ context.Context, digits string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		return errors.New("INFO digit: answered 405 Method Not Allowed")
	}
	if d <= 0 {
		return errors.New("no duration")
	}
	for i := range len(digits) {
		f.got = append(f.got, digits[i])
		f.sent <- digits[i]
	}
	return nil
}

func (f *fakeInfo) setRefuse(v bool) { f.mu.Lock(); f.refuse = v; f.mu.Unlock() }

// TestBridgeDTMFPerLeg: across one bridge each leg gets the keys its own way. A key
// pressed at A (RFC 4733) reaches B, a leg without telephone-event, as SIP INFO; once
// B's peer refuses INFO the next key reaches it as tones (its far end detects them
// in-band). A key pressed at B (a tone, since B has no telephone-event) reaches A,
// which negotiated telephone-event, as RFC 4733.
func TestBridgeDTMFPerLeg(t *testing.T) {
	eng := newEngine(t)
	aNear, aFar := newLeg(t, eng, codec.PCMU, 0)
	bNear, bFar := newLegNoEvents(t, eng, codec.PCMU, 0)
	info := &fakeInfo{sent: make(chan byte, 8)}
	a := NewDigitLeg(aNear, &fakeInfo{sent: make(chan byte, 8), refuse: true}, nil)
	b := NewDigitLeg(bNear, info, nil)
	br, err := New(a, b, WithDTMF(media.DTMFAuto))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()

	if err := aFar.SendDigits(ctx, "5", media.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-info.sent:
		if d != '5' {
			t.Errorf("INFO digit %q, want '5'", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the key pressed at A never reached B as SIP INFO")
	}
	if b.LastRoute() != RouteInfo || b.Sent(RouteRFC4733) != 0 || b.Sent(RouteInband) != 0 {
		t.Errorf("B's route %s (rfc4733 %d, inband %d), want info only", b.LastRoute(), b.Sent(RouteRFC4733), b.Sent(RouteInband))
	}

	info.setRefuse(true)
	if err := aFar.SendDigits(ctx, "7", media.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-bFar.Digits():
		if d != '7' {
			t.Errorf("B's far end heard %q, want '7'", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("after INFO was refused, the key never reached B as a tone")
	}
	if r := waitRoute(b, RouteInband); r != RouteInband {
		t.Errorf("B's route %s after the refusal, want inband", r)
	}

	if err := bFar.SendDigits(ctx, "#", media.DTMFInband); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-aFar.Digits():
		if d != '#' {
			t.Errorf("A's far end got %q, want '#'", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the tone pressed at B never reached A")
	}
	if r := waitRoute(a, RouteRFC4733); r != RouteRFC4733 {
		t.Errorf("A's route %s, want rfc4733", r)
	}
	cancel()
	<-done
}

// TestDigitLegNoSignalling: a leg without signalling and without telephone-event
// (a WebRTC leg whose peer offered none) gets tones.
func TestDigitLegNoSignalling(t *testing.T) {
	eng := newEngine(t)
	near, far := newLegNoEvents(t, eng, codec.PCMA, 8)
	l := NewDigitLeg(near, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.RouteDigits(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-far.Digits():
		if d != '3' {
			t.Errorf("far end heard %q, want '3'", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the tone never arrived")
	}
	if waitRoute(l, RouteInband) != RouteInband || l.Sent(RouteInband) != 1 {
		t.Errorf("route %s, inband %d", l.LastRoute(), l.Sent(RouteInband))
	}
}

// waitRoute waits (bounded) until l's last route is want: the far end may detect a
// key before the sender's SendDigits returned (a tone is heard while it plays).
func waitRoute(l *DigitLeg, want DigitRoute) DigitRoute {
	for range 250 {
		if l.LastRoute() == want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l.LastRoute()
}
