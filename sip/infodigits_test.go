package sip

import (
	"context"
	"strings"
	"testing"
)

// TestSendInfoDigits: digits go to the peer as one INFO each, application/dtmf-relay,
// in the dialog, each waiting for its answer; a refused INFO is an error; a bad digit
// is refused before anything is sent.
func TestSendInfoDigits(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	if err := c.SendInfoDigits(context.Background(), "5x", 0); err == nil {
		t.Error("the digit x was accepted")
	}
	done := make(chan error, 1)
	go func() { done <- c.SendInfoDigits(context.Background(), "5#", 0) }()
	for _, want := range []string{"Signal=5", "Signal=#"} {
		info := p.request(l.callID(), "INFO", waitTimeout)
		if ct := info.GetHeader("Content-Type"); ct == nil || ct.Value() != "application/dtmf-relay" {
			t.Errorf("INFO Content-Type %v", ct)
		}
		if body := string(info.Body()); !strings.Contains(body, want+"\r\n") || !strings.Contains(body, "Duration=160") {
			t.Errorf("INFO body %q, want %s and Duration=160", body, want)
		}
		if tagOf(info) != l.tag {
			t.Errorf("INFO outside the dialog: To tag %q", tagOf(info))
		}
		l.respondTo(info, 200, "")
	}
	if err := waitErr(t, done); err != nil {
		t.Errorf("SendInfoDigits: %v", err)
	}
	go func() { done <- c.SendInfoDigits(context.Background(), "1", 0) }()
	l.respondTo(p.request(l.callID(), "INFO", waitTimeout), 415, "")
	if err := waitErr(t, done); err == nil {
		t.Error("an INFO answered 415 was taken as sent")
	}
	l.request("BYE", "", "")
	if res := p.final(l.callID(), "BYE"); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
	<-c.Done()
}
