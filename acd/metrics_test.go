package acd

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"
)

func TestPrometheusSeries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a, presence: available}, {id: b}]
queues: {q: {}, vip: {service_level: 10s, service_level_target: 0.9}}
`, nil)
		defer h.close()
		<-h.call("answered", Request{Queue: "q"}, &fakeCaller{talk: time.Minute}, 0)
		long := h.call("long", Request{Queue: "q"}, &fakeCaller{talk: 10 * time.Minute}, 0)
		time.Sleep(time.Second)
		h.call("gone", Request{Queue: "q"}, &fakeCaller{}, 30*time.Second)
		waiting := h.call("waiting", Request{Queue: "q"}, &fakeCaller{}, 5*time.Minute)
		time.Sleep(time.Minute)
		synctest.Wait()
		mfs, err := h.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				key := mf.GetName()
				for _, l := range m.GetLabel() {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				switch {
				case m.Gauge != nil:
					got[key] = m.GetGauge().GetValue()
				case m.Counter != nil:
					got[key] = m.GetCounter().GetValue()
				case m.Histogram != nil:
					got[key] = float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		// answered (wait 2 s), long (wait 2 s, on the phone), gone (abandoned after
		// 30 s), waiting (1 min so far): SL 2/3, abandonment 1/4.
		for k, v := range map[string]float64{
			"hotline_agents,state=offline": 1, "hotline_agents,state=on_call": 1, "hotline_agents,state=available": 0,
			"hotline_agents,state=break": 0, "hotline_agents,state=ringing": 0, "hotline_agents,state=wrap_up": 0,
			"hotline_agents,state=missed":                         0,
			"hotline_queue_abandon_ratio,queue=q":                 0.25,
			"hotline_queue_service_level_ratio,queue=q":           2.0 / 3,
			"hotline_queue_calls_total,outcome=abandoned,queue=q": 1,
			"hotline_queue_calls_total,outcome=answered,queue=q":  2,
			"hotline_queue_longest_wait_seconds,queue=q":          60,
			"hotline_queue_waiting,queue=q":                       1,
			"hotline_queue_wait_seconds,queue=q":                  3, // observations: two answers, one abandon
			// The goals come from the configuration, defaults (80/20) or the queue's own.
			"hotline_queue_service_level_target_ratio,queue=q":        0.8,
			"hotline_queue_service_level_threshold_seconds,queue=q":   20,
			"hotline_queue_service_level_target_ratio,queue=vip":      0.9,
			"hotline_queue_service_level_threshold_seconds,queue=vip": 10,
			"hotline_queue_waiting,queue=vip":                         0,
		} {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
			}
		}
		<-waiting
		<-long
	})
}

// slowTranscript is a Caller whose transcript grows while it waits.
type slowTranscript struct{ fakeCaller }

func (*slowTranscript) Transcript() string { return "I was charged twice" }

func TestScreenPopContents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, "engine: {timezone: UTC}\nagents: [{id: a, presence: available}]\nqueues: {q: {skills: {x: 1}}}\n", nil)
		defer h.close()
		h.e.AddAgent(t.Context(), Agent{ID: "a", Skills: Skills{"x": 2}})
		c := &slowTranscript{fakeCaller{talk: time.Second}}
		ch := make(chan callResult, 1)
		go func() {
			res, err := h.e.Enqueue(t.Context(), Call{ID: "c9", Caller: "+33123", Called: "3000",
				IVRPath: []string{"welcome", "menu", "billing"}, Digits: "2", Vars: map[string]string{"account": "A-17"},
				Intent: "refund", Sentiment: -0.6, Transcript: "hello"}, Request{Queue: "q", Priority: 7}, c)
			ch <- callResult{res, err}
		}()
		<-ch
		pop := <-h.pops
		b, err := json.Marshal(pop)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		for k, v := range map[string]any{
			"type": "offer", "agent": "a", "call_id": "c9", "queue": "q", "caller_number": "+33123",
			"called": "3000", "wait_seconds": 0.0, "priority": 7.0, "digits": "2", "intent": "refund",
			"sentiment": -0.6, "transcript": "I was charged twice",
		} {
			if m[k] != v {
				t.Errorf("screen-pop %s = %v, want %v (%s)", k, m[k], v, b)
			}
		}
		if p, _ := m["ivr_path"].([]any); len(p) != 3 || p[2] != "billing" {
			t.Errorf("ivr_path = %v", m["ivr_path"])
		}
		if v, _ := m["vars"].(map[string]any); v["account"] != "A-17" {
			t.Errorf("vars = %v", m["vars"])
		}
		if s, _ := m["skills"].(map[string]any); s["x"] != 1.0 {
			t.Errorf("skills = %v", m["skills"])
		}
	})
}
