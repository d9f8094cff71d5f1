package telephony_test

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/sip"
)

// TestQueueToBaresipAgent is the whole path from a flow's queue node to a human's
// SIP phone, with real peers: agent 1001 registers two baresip phones with digest
// authentication (one answers by itself, one only rings); a caller (a second SIP
// server, as a carrier) dials in as +15550100; the flow's queue node hands the call
// to the ACD; both phones ring with the caller's number, the first answers, the
// other is cancelled; the caller's tone reaches the agent's phone and the agent's
// speech (espeak-ng) reaches the caller. Then:
//
//   - the caller hangs up: the agent's phone gets a BYE and Enqueue returns
//     completed with the agent's id (and the hang-up);
//   - on a second call the agent hangs up: the caller is back in the flow, which
//     hangs up, and Enqueue returns completed with no error.
func TestQueueToBaresipAgent(t *testing.T) {
	requireTool(t, "baresip", "baresip-core")
	requireTool(t, "espeak-ng", "espeak-ng")
	requireTool(t, "sox", "sox")
	p := newPBX(t)
	aor := p.srv.AOR(agentExt)
	desk := startPhone(t, p, "desk", "auto")
	waitFor(t, 15*time.Second, "the desk phone registers", func() bool { return len(p.bindings.Lookup(aor)) == 1 })
	mobile := startPhone(t, p, "mobile", "manual")
	waitFor(t, 15*time.Second, "the second phone registers", func() bool { return len(p.bindings.Lookup(aor)) == 2 })
	waitFor(t, 5*time.Second, "alice is reachable", func() bool {
		st, err := p.acd.Status(context.Background(), "support")
		return err == nil && st.AgentsAvailable == 1
	})

	carrier := newCarrier(t)
	dial := func() (*sip.Call, *telephony.Recorder, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := carrier.Dial(ctx, sip.DialRequest{Target: "sip:support@" + p.udp,
			CallerID: sip.CallerID{Policy: sip.CallerIDPass, Number: callerID}})
		if err != nil {
			t.Fatalf("the caller's call: %v", err)
		}
		heard := &telephony.Recorder{}
		c.Media().AddSink(heard)
		pctx, stop := context.WithCancel(context.Background())
		go func() { _ = c.Play(pctx, &telephony.ToneSource{W: 2 * math.Pi * 1000 / float64(c.SampleRate())}) }()
		return c, heard, stop
	}
	onCall := func() bool {
		as, err := p.acd.Agents(context.Background())
		return err == nil && len(as) == 1 && as[0].Activity == acd.ActivityOnCall
	}

	// Call 1: both phones ring; the desk answers; the caller hangs up.
	call, heard, stopTone := dial()
	defer stopTone()
	select {
	case sp := <-p.pops:
		if sp.CallerNumber != callerID || sp.Queue != "support" || sp.Agent != "alice" {
			t.Errorf("screen-pop %+v", sp)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no offer (screen-pop) within 15 s")
	}
	waitFor(t, 20*time.Second, "alice answers", onCall)
	for name, ph := range map[string]*phone{"desk": desk, "mobile": mobile} {
		waitFor(t, 5*time.Second, name+" shows the caller's number", func() bool { return strings.Contains(ph.out.String(), callerID) })
	}
	// The losing fork is cancelled: the mobile stops ringing.
	waitFor(t, 10*time.Second, "the mobile's ringing is cancelled", func() bool {
		out := strings.ToLower(mobile.out.String())
		return strings.Contains(out, "terminated") || strings.Contains(out, "cancel") || strings.Contains(out, "closed")
	})

	time.Sleep(1500 * time.Millisecond) // the whisper to the agent, then the bridge
	heard.Take()
	time.Sleep(3 * time.Second)
	heardByCaller := heard.Take()
	levels := frameLevels(heardByCaller, call.SampleRate())
	loud, quiet := 0, 0
	for _, l := range levels {
		if l > -35 {
			loud++
		}
		if l < -55 {
			quiet++
		}
	}
	// Speech has pauses between words; hold music (bridge.Tune) never drops below
	// -40 dBFS, and a broken bridge is silent throughout: loud frames and silent
	// frames together mean the agent's voice.
	if loud < len(levels)/10 || quiet == 0 {
		t.Errorf("the caller did not hear the agent's speech: %d frames, %d loud, %d silent", len(levels), loud, quiet)
	}

	if err := call.Hangup(context.Background()); err != nil {
		t.Fatalf("caller hangup: %v", err)
	}
	select {
	case r := <-p.queue.done:
		if r.res.Outcome != flows.OutcomeCompleted || r.res.Agent != "alice" || !errors.Is(r.err, context.Canceled) {
			t.Errorf("call 1: Enqueue %+v, %v; want completed by alice with the caller's hang-up", r.res, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("call 1: Enqueue did not return after the caller hung up")
	}
	waitFor(t, 10*time.Second, "the agent's leg ends", func() bool { return p.srv.ActiveCalls() == 0 })
	waitFor(t, 10*time.Second, "COMPLETECALLER logged", func() bool { return hasEvent(p.events, acd.EventCompleteCaller, "alice") })

	// The agent heard the caller's 1 kHz tone: baresip's sndfile module wrote the
	// decoded audio of the call to a WAV file.
	f, err := os.Open(desk.heardWAV())
	if err != nil {
		t.Fatalf("baresip wrote no audio: %v", err)
	}
	pcm, rate, err := audio.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatalf("baresip's recording: %v", err)
	}
	hits, frames := 0, 0
	for n := rate / 50; len(pcm) >= n; pcm = pcm[n:] {
		frames++
		if telephony.ToneLevel(pcm[:n], rate, 1000) > 0.5 {
			hits++
		}
	}
	t.Logf("the agent heard the caller's tone in %d of %d frames; the caller heard %d loud and %d silent frames of %d",
		hits, frames, loud, quiet, len(levels))
	if hits < 50 { // a second of the caller's tone, at least
		t.Errorf("the agent heard the caller's tone in %d of %d frames", hits, frames)
	}

	// Call 2: after wrap-up, the agent hangs up.
	waitFor(t, 10*time.Second, "alice is available again", func() bool {
		st, err := p.acd.Status(context.Background(), "support")
		return err == nil && st.AgentsAvailable == 1
	})
	call2, _, stopTone2 := dial()
	defer stopTone2()
	waitFor(t, 20*time.Second, "alice answers call 2", onCall)
	time.Sleep(500 * time.Millisecond)
	desk.command("hangup")
	select {
	case r := <-p.queue.done:
		if r.res.Outcome != flows.OutcomeCompleted || r.res.Agent != "alice" || r.err != nil {
			t.Errorf("call 2: Enqueue %+v, %v; want completed by alice", r.res, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("call 2: Enqueue did not return after the agent hung up")
	}
	select {
	case <-call2.Done(): // the flow's completed edge hangs up
	case <-time.After(10 * time.Second):
		t.Fatal("the caller's call 2 did not end after the flow's hangup node")
	}
	waitFor(t, 10*time.Second, "COMPLETEAGENT logged", func() bool { return hasEvent(p.events, acd.EventCompleteAgent, "alice") })

	// An unregistering phone is noticed: quitting both phones takes alice's endpoint
	// away, so the queue has no reachable agent.
	desk.quit()
	mobile.quit()
	waitFor(t, 10*time.Second, "alice's phones unregister", func() bool { return len(p.bindings.Lookup(aor)) == 0 })
	waitFor(t, 5*time.Second, "alice is unreachable", func() bool {
		st, err := p.acd.Status(context.Background(), "support")
		return err == nil && st.AgentsAvailable == 0
	})
}

func hasEvent(l *acd.MemLog, typ acd.EventType, agent string) bool {
	return slices.ContainsFunc(l.Events(), func(e acd.Event) bool { return e.Type == typ && e.Agent == agent })
}
