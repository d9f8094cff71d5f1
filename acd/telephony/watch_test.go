package telephony

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
)

// setterLog is the ACD's side of Endpoints: the endpoint each agent has.
type setterLog struct {
	mu  sync.Mutex
	eps map[string]acd.Endpoint
}

func (s *setterLog) SetEndpoint(id string, ep acd.Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ep == nil {
		delete(s.eps, id)
		return
	}
	s.eps[id] = ep
}

func (s *setterLog) get(id string) acd.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eps[id]
}

// wayEndpoint is one way of reaching an agent, answering as told.
type wayEndpoint struct {
	res    acd.OfferResult
	delay  time.Duration // before answering; ctx ends it early
	offers atomic.Int32
	hungUp atomic.Int32
}

type wayLeg struct{ w *wayEndpoint }

func (l wayLeg) Whisper(context.Context, string) error { return nil }
func (l wayLeg) Hangup(context.Context) error          { l.w.hungUp.Add(1); return nil }

func (w *wayEndpoint) Offer(ctx context.Context, o acd.Offer) (acd.Leg, acd.OfferResult, error) {
	w.offers.Add(1)
	if w.delay > 0 {
		select {
		case <-time.After(w.delay):
		case <-ctx.Done():
			return nil, acd.OfferNoAnswer, nil
		}
	}
	switch w.res {
	case acd.OfferAnswered:
		return wayLeg{w}, acd.OfferAnswered, nil
	case acd.OfferFailed:
		return nil, acd.OfferFailed, errors.New("not there")
	}
	return nil, w.res, nil
}

// TestEndpointsMerge: a phone and a browser each set and remove their own way of
// reaching alice; the ACD sees one endpoint while either is there, the right one
// when only one is, and none when both are gone; removing one never removes the
// other.
func TestEndpointsMerge(t *testing.T) {
	acdSide := &setterLog{eps: map[string]acd.Endpoint{}}
	m := NewEndpoints(acdSide, nil)
	defer m.Close()
	sipWay, webWay := m.Source("sip"), m.Source("webrtc")
	phone, browser := &wayEndpoint{res: acd.OfferAnswered}, &wayEndpoint{res: acd.OfferAnswered}

	webWay.SetEndpoint("alice", browser)
	if acdSide.get("alice") != acd.Endpoint(browser) {
		t.Fatalf("browser only: the ACD has %v, want the browser's endpoint", acdSide.get("alice"))
	}
	sipWay.SetEndpoint("alice", phone)
	if _, ok := acdSide.get("alice").(*forkEndpoint); !ok {
		t.Fatalf("phone and browser: the ACD has %T, want both rung", acdSide.get("alice"))
	}
	sipWay.SetEndpoint("alice", nil) // the phone unregisters
	if acdSide.get("alice") != acd.Endpoint(browser) {
		t.Fatalf("the phone unregistered: the ACD has %v, want the browser's endpoint still", acdSide.get("alice"))
	}
	sipWay.SetEndpoint("alice", phone)
	webWay.SetEndpoint("alice", nil) // the tab closes
	if acdSide.get("alice") != acd.Endpoint(phone) {
		t.Fatalf("the tab closed: the ACD has %v, want the phone's endpoint still", acdSide.get("alice"))
	}
	sipWay.SetEndpoint("alice", nil)
	if ep := acdSide.get("alice"); ep != nil {
		t.Fatalf("both gone: the ACD has %v, want none", ep)
	}
	webWay.SetEndpoint("bob", browser)
	if acdSide.get("bob") == nil || acdSide.get("alice") != nil {
		t.Error("one agent's ways changed another's")
	}
}

// TestEndpointsForkOffer: with both ways present an offer rings both; the first
// answer wins and the slower way is cancelled (a leg it answers anyway is hung
// up); a decline on one declines the offer; a way that fails leaves the other.
func TestEndpointsForkOffer(t *testing.T) {
	offer := acd.Offer{OfferID: "o1", CallID: "c1", Agent: "alice", RingTimeout: 5 * time.Second}
	fork := func(a, b *wayEndpoint) (acd.Endpoint, *Endpoints) {
		acdSide := &setterLog{eps: map[string]acd.Endpoint{}}
		m := NewEndpoints(acdSide, nil)
		m.Source("sip").SetEndpoint("alice", a)
		m.Source("webrtc").SetEndpoint("alice", b)
		return acdSide.get("alice"), m
	}
	ctx := context.Background()

	// The browser answers at once, the phone later: the browser's leg, the phone cancelled.
	phone, browser := &wayEndpoint{res: acd.OfferAnswered, delay: time.Minute}, &wayEndpoint{res: acd.OfferAnswered}
	ep, m := fork(phone, browser)
	leg, res, err := ep.Offer(ctx, offer)
	if res != acd.OfferAnswered || err != nil || leg.(wayLeg).w != browser {
		t.Fatalf("Offer = %v, %v, %v; want the browser's leg answered", leg, res, err)
	}
	m.Close() // the phone's cancelled offer returned
	if phone.offers.Load() != 1 || browser.offers.Load() != 1 {
		t.Errorf("offers phone %d browser %d, want one each", phone.offers.Load(), browser.offers.Load())
	}

	// Both answer: the loser's leg is hung up, the winner's not.
	phone, browser = &wayEndpoint{res: acd.OfferAnswered}, &wayEndpoint{res: acd.OfferAnswered}
	ep, m = fork(phone, browser)
	leg, res, _ = ep.Offer(ctx, offer)
	m.Close()
	if res != acd.OfferAnswered {
		t.Fatalf("both answer: %v", res)
	}
	winner := leg.(wayLeg).w
	loser := phone
	if winner == phone {
		loser = browser
	}
	if winner.hungUp.Load() != 0 || loser.hungUp.Load() != 1 {
		t.Errorf("hang-ups winner %d loser %d, want 0 and 1", winner.hungUp.Load(), loser.hungUp.Load())
	}

	// The browser declines: the offer is declined, the ringing phone cancelled.
	phone, browser = &wayEndpoint{res: acd.OfferAnswered, delay: time.Minute}, &wayEndpoint{res: acd.OfferRejected}
	ep, m = fork(phone, browser)
	if _, res, _ = ep.Offer(ctx, offer); res != acd.OfferRejected {
		t.Errorf("a decline: %v, want rejected", res)
	}
	m.Close()

	// The phone is gone (fails): the browser still answers.
	phone, browser = &wayEndpoint{res: acd.OfferFailed}, &wayEndpoint{res: acd.OfferAnswered, delay: 10 * time.Millisecond}
	ep, m = fork(phone, browser)
	if leg, res, _ = ep.Offer(ctx, offer); res != acd.OfferAnswered || leg.(wayLeg).w != browser {
		t.Errorf("phone failed: %v %v, want the browser's answer", leg, res)
	}
	m.Close()

	// Nobody answers before the ring timeout: no answer.
	phone, browser = &wayEndpoint{res: acd.OfferAnswered, delay: time.Minute}, &wayEndpoint{res: acd.OfferAnswered, delay: time.Minute}
	ep, m = fork(phone, browser)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, res, _ = ep.Offer(rctx, offer); res != acd.OfferNoAnswer {
		t.Errorf("ring timeout: %v, want no answer", res)
	}
	m.Close()

	// Both fail: failed, with both errors.
	phone, browser = &wayEndpoint{res: acd.OfferFailed}, &wayEndpoint{res: acd.OfferFailed}
	ep, m = fork(phone, browser)
	_, res, err = ep.Offer(ctx, offer)
	if res != acd.OfferFailed || err == nil {
		t.Errorf("both failed: %v %v, want failed with an error", res, err)
	}
	m.Close()
}
