package asr_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/asr"
)

func TestFallback(t *testing.T) {
	speech := utterance(16000, 500*time.Millisecond, 800*time.Millisecond)
	for _, tc := range []struct {
		name       string
		primary    *fake
		secondary  *fake
		want       asr.Outcome
		text       string
		backend    string
		reason     string // fallbacks_total reason, "" for no fallback
		fullReplay bool   // the secondary must have heard the whole utterance
	}{
		{"primary answers", &fake{text: "agent", conf: 1}, &fake{text: "billing", conf: 1},
			asr.OutcomeFinal, "agent", "p", "", false},
		{"primary fails to open", &fake{openErr: errBoom}, &fake{text: "billing", conf: 1},
			asr.OutcomeFinal, "billing", "s", "error", true},
		{"primary fails mid-stream", &fake{writeErr: errBoom, writeAfter: 8000}, &fake{text: "billing", conf: 1},
			asr.OutcomeFinal, "billing", "s", "error", true},
		{"primary fails to finish", &fake{finishErr: errBoom}, &fake{text: "billing", conf: 1},
			asr.OutcomeFinal, "billing", "s", "error", true},
		{"primary too slow", &fake{text: "agent", conf: 1, delay: time.Hour}, &fake{text: "billing", conf: 1},
			asr.OutcomeFinal, "billing", "s", "latency", true},
		{"primary slow, secondary fails", &fake{text: "agent", conf: 1, delay: 300 * time.Millisecond}, &fake{openErr: errBoom},
			asr.OutcomeFinal, "agent", "p", "latency", false},
		{"both fail", &fake{finishErr: errBoom}, &fake{finishErr: errors.New("bang")},
			asr.OutcomeError, "", "p", "error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			reg, preg := newRegistry(t, map[string]asr.Backend{"p": tc.primary, "s": tc.secondary})
			req := asr.Request{Backend: "p", Fallback: "s", LatencyBudget: 100 * time.Millisecond}
			res := run(t, reg, req, speech, 16000)
			if res.Outcome != tc.want || res.Text != tc.text || res.Backend != tc.backend {
				t.Fatalf("got %v %q from %q (err %v), want %v %q from %q",
					res.Outcome, res.Text, res.Backend, res.Err, tc.want, tc.text, tc.backend)
			}
			if tc.reason != "" {
				if n := metric(t, preg, "hotline_asr_fallbacks_total", map[string]string{"primary": "p", "secondary": "s", "reason": tc.reason}); n != 1 {
					t.Errorf("fallbacks_total{%s} = %v", tc.reason, n)
				}
			}
			if tc.fullReplay {
				if got := tc.secondary.received(); len(got) != 1 || time.Duration(got[0])*time.Second/16000 != res.Audio {
					t.Errorf("secondary received %v samples, the session sent %v", got, res.Audio)
				}
			}
			for name, f := range map[string]*fake{"primary": tc.primary, "secondary": tc.secondary} {
				if o, c, _ := f.counts(); o != c {
					t.Errorf("%s: opened %d streams, closed %d", name, o, c)
				}
			}
		})
	}
}

func TestFallbackRates(t *testing.T) {
	if _, err := asr.NewFallback("a", &fake{rate: 8000}, "b", &fake{rate: 16000}, 0, nil); err == nil {
		t.Error("paired backends of different rates")
	}
}
