package audio

import (
	"math"
	"time"
)

// SilenceDBFS is what DBFS reports for digital silence instead of -Inf, so
// thresholds and metrics never have to handle infinities.
const SilenceDBFS = -120.0

// fullScale is the magnitude of the most negative 16-bit sample; levels are
// measured relative to it.
const fullScale = 32768.0

// RMS returns the root-mean-square amplitude of pcm in sample units
// (0..32768), or 0 for an empty slice. The VAD and tests use it as the
// energy of a frame.
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// DBFS returns the RMS level of pcm in decibels relative to full scale,
// where a full-scale square wave is 0 dBFS and a full-scale sine about
// -3 dBFS. Silence and empty input give SilenceDBFS (-120), and nothing
// lower is ever returned.
func DBFS(pcm []int16) float64 {
	rms := RMS(pcm)
	if rms == 0 {
		return SilenceDBFS
	}
	return max(20*math.Log10(rms/fullScale), SilenceDBFS)
}

// Tone generates a sine wave test signal: freq in Hz at the given sample
// rate, lasting dur (rounded down to whole samples), with amplitude as a
// fraction of full scale (clamped to 0..1, so 0.5 peaks at 16384 and is
// about -9 dBFS). It returns nil when rate or dur is not positive.
func Tone(freq float64, rate int, dur time.Duration, amplitude float64) []int16 {
	if rate <= 0 || dur <= 0 {
		return nil
	}
	n := int(int64(dur) * int64(rate) / int64(time.Second))
	amp := min(max(amplitude, 0), 1) * math.MaxInt16
	out := make([]int16, n)
	w := 2 * math.Pi * freq / float64(rate)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(w*float64(i))))
	}
	return out
}

// Mix adds src into dst sample by sample, saturating at the int16 limits
// instead of wrapping, for the first min(len(dst), len(src)) samples. The
// conference mixer and prompt-over-hold-music use it; saturation turns an
// overload into clipping rather than loud wrap-around noise.
func Mix(dst, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		v := int32(dst[i]) + int32(s)
		dst[i] = int16(min(max(v, math.MinInt16), math.MaxInt16))
	}
}
