package sip

import (
	"context"
	"net/netip"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip/guard"
)

// TestFloodFromOneSourceOthersServed: sipp floods INVITEs from 127.0.0.2 at 400
// per second; the guard bans it, its packets are dropped before parsing, and a
// caller from 127.0.0.1 still gets its call answered during the flood. The ban shows
// in Bans and Unban lifts it.
func TestFloodFromOneSourceOthersServed(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found in PATH (Debian package sip-tester): the flood test needs a real flooder: %v", err)
	}
	var g *guard.Guard
	e := newEnv(t, withSIP(func(c *Config) {
		var err error
		g, err = guard.New(guard.Config{Invite: guard.Rate{Rate: 5, Burst: 10}, BanTime: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		c.Guard = g
	}))
	e.handler.set(func(ctx context.Context, c *Call) {
		if c.Caller() == "alice" {
			answerAndWait(ctx, c)
		}
	})
	base := freeUDPPorts(t)
	var out syncBuffer // written by exec's copier while sipp runs
	cmd := exec.Command("sipp", "-sn", "uac", "-i", "127.0.0.2", "-p", strconv.Itoa(base),
		"-r", "400", "-m", "100000", "-l", "100000", "-nostdin", "-timeout", "60s",
		"-mi", "127.0.0.2", "-mp", strconv.Itoa(base+2), e.udpAddr)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Kill() // by its process, never by name
		<-done
	}()
	flooder := netip.MustParseAddr("127.0.0.2")
	waitUntil(t, 20*time.Second, "the flooder banned", func() bool { return g.Banned(flooder) })
	// The flood goes on; a caller from another address is served.
	waitUntil(t, 10*time.Second, "dropped flood packets", func() bool {
		bans, _ := g.Bans(context.Background())
		return len(bans) == 1 && bans[0].Hits > 50
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	l.hangupByCaller()
	select {
	case <-done:
		t.Fatalf("sipp stopped before the end of the test:\n%s", out.String())
	default:
	}
	bans, _ := g.Bans(context.Background())
	if len(bans) != 1 || bans[0].Key != "127.0.0.2" || bans[0].Reason != guard.ReasonRate || bans[0].Hits == 0 {
		t.Fatalf("bans = %+v, want 127.0.0.2 for rate with hits", bans)
	}
	if err := g.Unban(context.Background(), "127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := g.Unban(context.Background(), "127.0.0.2"); err != guard.ErrNotFound {
		t.Fatalf("second Unban: %v, want ErrNotFound", err)
	}
}
