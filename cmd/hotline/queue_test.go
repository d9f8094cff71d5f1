package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQueuedCaller: a caller the flow hands to the care queue waits there with
// nobody staffed: the live call list shows them in the queue, the queue's status
// counts them waiting, and when they hang up the call record says which queue and
// that they abandoned it. (Ringing a real agent's phone is acd/telephony's
// TestQueueToBaresipAgent.)
func TestQueuedCaller(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "queue"})
	t.Parallel()

	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 5 * time.Second}); err != nil {
			t.Errorf("the queued caller's call failed: %v\n%s", err, tail(res.messages, 6000))
		}
	}()
	id := waitOnlyCall(t, te, 10*time.Second, "the caller in the queue in the live call list", "queue", "care")
	code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
	if code != 200 || !strings.Contains(body, `"waiting":1`) {
		t.Errorf("GET /api/v1/queues/care while one caller waits = %d %s", code, body)
	}
	<-done
	waitFor(t, 10*time.Second, "the queued call's record", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
		return code == 200 && strings.Contains(body, `"state":"ended"`)
	})
	_, body = apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
	var rec struct {
		Queue       string
		Disposition string
		HangupSide  string `json:"hangup_side"`
		Timeline    []struct{ Kind, Name string }
	}
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Queue != "care" || rec.Disposition != "abandoned" || rec.HangupSide != "caller" {
		t.Errorf("record queue %q disposition %q hangup_side %q, want care, abandoned, caller", rec.Queue, rec.Disposition, rec.HangupSide)
	}
	var sawQueue bool
	for _, e := range rec.Timeline {
		sawQueue = sawQueue || e.Kind == "queue"
	}
	if !sawQueue {
		t.Errorf("the call's timeline has no queue event: %s", body)
	}
}

// streamingCaller starts a SIPp caller (uac_silent.xml) that streams voice, a µ-law
// file, from the answer on and waits up to byeWait for the engine's BYE; the channel
// gets its outcome, with SIPp's last messages when it failed.
func streamingCaller(t *testing.T, te *testEngine, voice string, byeWait time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_silent.xml", timeout: byeWait + 10*time.Second,
			replace: []string{`<recv request="BYE" timeout="20000"/>`,
				`<nop><action><exec rtp_stream="` + voice + `,-1,0"/></action></nop>
  <recv request="BYE" timeout="` + strconv.Itoa(int(byeWait/time.Millisecond)) + `"/>`}})
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, tail(res.messages, 4000))
		}
		done <- err
	}()
	return done
}

// waitOnlyCall waits until the engine's live call list holds exactly one call, in
// stage and at node when they are not "", and returns its id.
func waitOnlyCall(t *testing.T, te *testEngine, within time.Duration, what, stage, node string) string {
	t.Helper()
	var id string
	waitFor(t, within, what, func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/calls"), testAPIToken)
		var list struct {
			Calls []struct{ ID, Stage, Node string }
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Calls) != 1 {
			return false
		}
		c := list.Calls[0]
		id = c.ID
		return (stage == "" || c.Stage == stage) && (node == "" || c.Node == node)
	})
	return id
}
