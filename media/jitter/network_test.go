package jitter

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestNetworkJitter simulates a path whose delay varies uniformly by ±40 ms
// around 60 ms for 30 s, between two clean periods. The target delay must
// grow to cover it with fewer than 1 % of packets late, then shrink again.
// With silence suppression (talkspurts) the playout delay follows the target
// back down at the next boundary; a continuous stream has no boundary, so
// its delay comes down in the pauses the caller's VAD reports (SetQuiet).
func TestNetworkJitter(t *testing.T) {
	for _, mode := range []string{"talkspurts", "continuous"} {
		t.Run(mode, func(t *testing.T) {
			const clean1, noisy, clean2 = 10 * time.Second, 30 * time.Second, 30 * time.Second
			var ids int
			s := newSender(1, 1, 9, &ids)
			var all []pkt
			for s.t.Before(t0.Add(clean1 + noisy + clean2)) {
				if mode == "continuous" {
					all = append(all, s.talk(50, len(all) == 0)...)
					continue
				}
				all = append(all, s.talk(60, true)...) // 1.2 s of speech
				s.pause(15)                            // 300 ms of silence
			}
			rng := rand.New(rand.NewPCG(3, 4))
			noisyFrom, noisyTo := t0.Add(clean1), t0.Add(clean1+noisy)
			sentNoisy := 0
			ps := arrive(slices.Clone(all), func(_ int, p pkt) time.Duration {
				if p.sent.Before(noisyFrom) || !p.sent.Before(noisyTo) {
					return 60 * time.Millisecond
				}
				sentNoisy++
				return 60*time.Millisecond + time.Duration((rng.Float64()*2-1)*float64(40*time.Millisecond))
			})
			b := mustNew(t, Config{})
			sm := &sim{b: b, ps: ps, now: t0.Add(5 * time.Millisecond), period: ptime}
			var os []out
			os = append(os, sm.until(noisyFrom)...)
			before := b.Stats()
			os = append(os, sm.until(noisyTo.Add(200*time.Millisecond))...)
			during := b.Stats()
			if mode == "continuous" {
				// The stream never pauses, so the delay only comes down in
				// pauses the caller's VAD reports: 1 s in every 3 s.
				for at := noisyTo.Add(time.Second); at.Before(t0.Add(clean1 + noisy + clean2 - 4*time.Second)); at = at.Add(3 * time.Second) {
					os = append(os, sm.until(at)...)
					b.SetQuiet(true)
					os = append(os, sm.until(at.Add(time.Second))...)
					b.SetQuiet(false)
				}
			}
			os = append(os, sm.until(t0.Add(clean1+noisy+clean2))...)
			after := b.Stats()
			checkOrder(t, os)

			late := during.Late - before.Late
			rate := float64(late) / float64(sentNoisy)
			t.Logf("before: target %v delay %v", before.TargetDelay, before.Delay)
			t.Logf("jitter: %d of %d late (%.2f %%), %d lost, %d inserted, RFC 3550 jitter %v, target %v, delay %v",
				late, sentNoisy, 100*rate, during.Lost-before.Lost, during.Inserted-before.Inserted,
				during.JitterDuration, during.TargetDelay, during.Delay)
			t.Logf("after:  target %v delay %v jitter %v; total %+v", after.TargetDelay, after.Delay, after.JitterDuration, after)
			if rate >= 0.01 {
				t.Errorf("%.2f %% late during jitter, want < 1 %%", 100*rate)
			}
			if during.TargetDelay < 60*time.Millisecond || during.Delay < 40*time.Millisecond {
				t.Errorf("target %v, delay %v: do not cover ±40 ms", during.TargetDelay, during.Delay)
			}
			if after.TargetDelay > 25*time.Millisecond {
				t.Errorf("target %v 30 s after jitter ended", after.TargetDelay)
			}
			if after.Delay > 45*time.Millisecond {
				t.Errorf("delay %v 30 s after jitter ended", after.Delay)
			}
			if after.Overflow != 0 || after.Duplicate != 0 {
				t.Errorf("stats %+v", after)
			}
		})
	}
}
