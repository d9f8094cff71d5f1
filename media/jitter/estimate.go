package jitter

import (
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// The adaptation constants. See the package documentation for the whole
// algorithm.
const (
	// jitterK scales the jitter estimate into safety margin. The RFC 3550
	// estimate J is the mean absolute difference of consecutive transit
	// times, about 1.13 σ for Gaussian network delay, so frame + 2·J covers
	// the mean plus 2.3 σ plus one frame; and the target follows the upper
	// envelope of that value (see targetDecay), which adds more. Simulated
	// Gaussian (σ 5-30 ms) and uniform (±40 ms) paths stay under 0.2 %
	// late with k = 2, and k = 3 costs 20-40 ms more delay for under 0.1 %
	// fewer late packets: in E-model terms (ITU-T G.107) a bad trade.
	jitterK = 2
	// targetDecay is the time constant with which the target falls back
	// after jitter subsides. It rises at once (late packets are lost audio)
	// but falls slowly (one quiet second does not mean the path is clean).
	targetDecay = 2 * time.Second
	// resyncTransit is the smallest transit-time jump taken as a timestamp
	// discontinuity rather than network delay (twice MaxDelay if larger).
	resyncTransit = time.Second
	// jitterGain is the RFC 3550 A.8 smoothing gain, 1/16, also used for
	// the mean transit time.
	jitterGain = 1.0 / 16
	// meanWarmup is how many packets of a stream are plainly averaged into
	// the mean transit before clipping starts.
	meanWarmup = 16
)

// observe updates the timing estimates with one packet's transit time
// (arrival minus timestamp, both in ticks; only differences matter, so the
// two clocks' offset cancels out).
func (b *Buffer) observe(transit uint32) {
	r := &b.rx
	// RFC 3550 §6.4.1 and A.8: J += (|D(i-1,i)| - J)/16, where D is the
	// difference of consecutive transit times, in arrival order.
	d := float64(int32(transit - r.lastTransit))
	if d < 0 {
		d = -d
	}
	r.jitter += (d - r.jitter) * jitterGain
	r.lastTransit = transit
	// The mean transit anchors playout: a talkspurt starts when its first
	// packet is target ticks older than the mean arrival for its timestamp,
	// so one early or late first packet does not set the delay of the whole
	// talkspurt. After a plain average over the first packets, each step is
	// clipped to one frame (a Huber M-estimator): a burst after a network
	// stall then moves the anchor by a frame/16 per packet, instead of
	// dragging it up by the stall and keeping the backlog as delay.
	r.observed = min(r.observed+1, meanWarmup+1)
	dev := float64(int32(transit-r.transitRef)) - r.meanOff
	if r.observed <= meanWarmup {
		r.meanOff += dev / float64(r.observed)
	} else {
		F := float64(b.frameTicks)
		r.meanOff += clamp(dev, -F, F) * jitterGain
	}
	b.adapt()
}

// adapt moves the target delay toward frame + k·J: at once when that is
// higher, with time constant targetDecay when lower, always within
// [MinDelay, MaxDelay]. The target is only a goal: playout moves to it at
// talkspurt boundaries and, to grow, on frames that are concealed anyway.
func (b *Buffer) adapt() {
	want := float64(b.frameTicks) + jitterK*b.rx.jitter
	if want >= b.target {
		b.target = want
	} else {
		b.target += (want - b.target) * min(1, float64(b.frameTicks)/b.decay)
	}
	b.target = clamp(b.target, b.minTarget, b.maxTarget)
}

// inferFrame learns the packet duration from the timestamp step between
// consecutive sequence numbers. The first step of a stream is taken at once;
// later a new step is believed when two consecutive steps agree, so one
// silence gap (a large step) does not change it. The step into a marked
// packet and steps beyond the longest codec frame are never frame sizes.
func (b *Buffer) inferFrame(seq uint16, ts uint32, marker bool) {
	r := &b.rx
	if seq == r.lastSeq+1 && !marker {
		step := ts - r.lastTS
		if step > 0 && step <= b.maxStep {
			if step == r.lastStep || !r.stepKnown {
				b.frameTicks, r.stepKnown = step, true
			}
			r.lastStep = step
		} else {
			r.lastStep = 0
		}
	} else if rtp.SeqLess(r.lastSeq, seq) {
		r.lastStep = 0
	}
	if rtp.SeqLess(r.lastSeq, seq) {
		r.lastSeq, r.lastTS = seq, ts
	}
}

// delayAt is how long after the mean arrival of timestamp ts the time now
// (in ticks) is: the delay a frame with that timestamp gets if played now.
// Only meaningful for the stream being received.
func (b *Buffer) delayAt(now, ts uint32) float64 {
	return float64(int32(now-ts-b.rx.transitRef)) - b.rx.meanOff
}
