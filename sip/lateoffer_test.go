package sip

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// TestLateOffer: an INVITE without SDP gets our offer in the 200 (every codec plus
// telephone-event/8000 on 101); the caller's answer in the ACK configures the media
// (RFC 3261 §13.2.1, RFC 3264 §5).
func TestLateOffer(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			answered := make(chan error, 1)
			e.handler.set(func(ctx context.Context, c *Call) {
				answered <- c.Answer(ctx)
				<-ctx.Done()
			})
			p := e.newPeer(transport)
			rtp := e.newRTPPeer()
			l := p.newLeg()
			l.invite("")
			ok := p.final(l.callID, "INVITE")
			if ok.StatusCode != 200 {
				t.Fatalf("late-offer INVITE answered %d", ok.StatusCode)
			}
			offer := parseSDP(t, ok)
			if len(offer.Media) != 1 {
				t.Fatalf("offer with %d m= lines", len(offer.Media))
			}
			fs := offer.Media[0].RTPFormats()
			var names []string
			te := false
			for _, f := range fs {
				names = append(names, f.String())
				if f.Name == "telephone-event" && f.ClockRate == 8000 && f.PT == 101 {
					te = true
				}
			}
			for _, cd := range codec.Builtin() {
				found := false
				for _, f := range fs {
					if f.Name == cd.Name() && f.ClockRate == cd.ClockRate() {
						found = true
					}
				}
				if !found {
					t.Errorf("offer lacks %s: %v", cd.Name(), names)
				}
			}
			if !te {
				t.Errorf("offer lacks telephone-event/8000 on PT 101: %v", names)
			}
			if !offer.Media[0].Attributes.Has("sendrecv") {
				t.Errorf("offer not sendrecv:\n%s", offer)
			}
			select {
			case err := <-answered:
				t.Fatalf("Answer returned %v before the ACK", err)
			case <-time.After(2 * testT1):
			}
			if rtp.count() != 0 {
				t.Errorf("RTP sent before the answer arrived")
			}
			l.learn(ok)
			l.ack(0, sdpOffer{port: rtp.port, formats: []string{fmtPCMA, fmtTE}, dir: "sendrecv"}.String())
			if err := <-answered; err != nil {
				t.Fatalf("Answer: %v", err)
			}
			c := e.handler.call(t)
			if c.Codec() != "PCMA" {
				t.Errorf("codec %q, want PCMA from the answer", c.Codec())
			}
			rtp.waitPackets(t, 5, 2*time.Second)
			if rtp.ptCount(8) == 0 {
				t.Errorf("RTP to the ACK's address is not PCMA")
			}
			l.hangupByCaller()
		})
	}
}

// TestLateOfferAckWithoutAnswer: an ACK without the answer leaves the call without
// media: it is ended with a BYE.
func TestLateOfferAckWithoutAnswer(t *testing.T) {
	e := newEnv(t)
	answered := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		answered <- c.Answer(ctx)
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite("")
	ok := p.final(l.callID, "INVITE")
	l.learn(ok)
	l.ack(0, "")
	bye := l.answerBye(waitTimeout)
	checkBye(t, bye, l, p)
	if err := <-answered; err == nil {
		t.Errorf("Answer succeeded without an SDP answer")
	}
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeBadAnswer {
		t.Errorf("cause %q, want %q", c.Cause(), causeBadAnswer)
	}
}

// TestEarlyMedia: EarlyMedia sends 183 with the SDP answer and media flows before the
// 200, which carries the same SDP (RFC 3261 §13.2.1, RFC 3264 §5).
func TestEarlyMedia(t *testing.T) {
	e := newEnv(t)
	answer := newSignal()
	playErr := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		if err := c.EarlyMedia(ctx); err != nil {
			t.Errorf("EarlyMedia: %v", err)
		}
		playErr <- c.Play(ctx, silence(5))
		<-answer
		if err := c.Answer(ctx); err != nil {
			return
		}
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	rtp := e.newRTPPeer()
	l := p.newLeg()
	l.invite(g711Offer(rtp.port))
	p.expect(l.callID, "INVITE", 100)
	prog := p.expect(l.callID, "INVITE", 183)
	early := parseSDP(t, prog)
	checkG711Answer(t, early, "PCMU", 0)
	rtp.waitPackets(t, 5, 2*time.Second)
	if err := <-playErr; err != nil {
		t.Errorf("Play during early media: %v", err)
	}
	answer.fire()
	ok := p.expect(l.callID, "INVITE", 200)
	if string(ok.Body()) != string(prog.Body()) {
		t.Errorf("200 SDP differs from the 183's:\n%s\n---\n%s", prog.Body(), ok.Body())
	}
	if tagOf(ok) != tagOf(prog) {
		t.Errorf("To tags differ: 183 %q 200 %q", tagOf(prog), tagOf(ok))
	}
	l.learn(ok)
	l.ack(0, "")
	rtp.waitPackets(t, 3, 2*time.Second)
	l.hangupByCaller()
}

// TestEarlyMediaLateOffer: without an offer there is nothing to answer in a 183 (and
// no PRACK to carry the caller's answer), so EarlyMedia rings instead.
func TestEarlyMediaLateOffer(t *testing.T) {
	e := newEnv(t)
	playErr := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		if err := c.EarlyMedia(ctx); err != nil {
			t.Errorf("EarlyMedia: %v", err)
		}
		playErr <- c.Play(ctx, silence(1))
		_ = c.Hangup(ctx)
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite("")
	p.expect(l.callID, "INVITE", 100)
	ring := p.expect(l.callID, "INVITE", 180)
	if len(ring.Body()) != 0 {
		t.Errorf("180 with a body")
	}
	res := p.expect(l.callID, "INVITE", 480)
	l.ackFailure(res)
	if err := <-playErr; !errors.Is(err, ErrNotAnswered) {
		t.Errorf("Play before answer on a late-offer call: %v, want ErrNotAnswered", err)
	}
}

// silence is a media.Source of n 20 ms frames of silence.
type silenceSource struct{ left int }

func silence(frames int) *silenceSource { return &silenceSource{left: frames} }

func (s *silenceSource) Read(frame []int16) (int, error) {
	if s.left == 0 {
		return 0, errEOF
	}
	s.left--
	clear(frame)
	return len(frame), nil
}

var errEOF = io.EOF
