package vad

import "math"

// realFFT computes the power spectrum of a real frame of n = 2m samples
// with one complex radix-2 FFT of m points (the "two-for-one" packing of
// even and odd samples into the real and imaginary parts, Cooley, Lewis and
// Welch 1970; see also Press et al., Numerical Recipes, §12.3). All tables
// and work buffers are sized once in newRealFFT, so power never allocates.
type realFFT struct {
	n, m int
	rev  []int32 // bit-reversal permutation of 0..m-1
	// twr and twi hold the twiddles of the complex FFT stage by stage:
	// for the stage of butterfly span half, e^{-2πij/(2·half)} for
	// j < half sits at index half+j, so each stage reads them in order.
	twr, twi []float64
	splitC   []float64 // cos(2πk/n), k <= m: twiddles of the real split
	splitS   []float64 // sin(2πk/n)
	re, im   []float64 // the packed complex frame, transformed in place
}

// newRealFFT returns a transform for n real samples; n must be a power of
// two of at least 4 (New only asks for 256 and 512).
func newRealFFT(n int) *realFFT {
	m := n / 2
	f := &realFFT{
		n: n, m: m,
		rev:    make([]int32, m),
		twr:    make([]float64, m),
		twi:    make([]float64, m),
		splitC: make([]float64, m+1),
		splitS: make([]float64, m+1),
		re:     make([]float64, m),
		im:     make([]float64, m),
	}
	bits := 0
	for 1<<bits < m {
		bits++
	}
	for i := range m {
		r := 0
		for b := range bits {
			if i&(1<<b) != 0 {
				r |= 1 << (bits - 1 - b)
			}
		}
		f.rev[i] = int32(r)
	}
	for half := 1; half < m; half <<= 1 {
		for j := range half {
			a := math.Pi * float64(j) / float64(half)
			f.twr[half+j], f.twi[half+j] = math.Cos(a), -math.Sin(a)
		}
	}
	for k := range m + 1 {
		f.splitC[k] = math.Cos(2 * math.Pi * float64(k) / float64(n))
		f.splitS[k] = math.Sin(2 * math.Pi * float64(k) / float64(n))
	}
	return f
}

// power transforms x (len n, already windowed) and writes |X[k]|² for
// k = lo..hi (0 <= lo <= hi <= n/2) into dst[k-lo].
func (f *realFFT) power(dst, x []float64, lo, hi int) {
	m := f.m
	re, im := f.re[:m], f.im[:m]
	for i, r := range f.rev {
		re[r] = x[2*i]
		im[r] = x[2*i+1]
	}
	// Iterative decimation-in-time butterflies (bit-reversed input). The
	// first stage's twiddle is 1; later stages work on subslices so the
	// compiler can drop the bounds checks.
	for a := 0; a+1 < m; a += 2 {
		re[a], re[a+1] = re[a]+re[a+1], re[a]-re[a+1]
		im[a], im[a+1] = im[a]+im[a+1], im[a]-im[a+1]
	}
	for half := 2; half < m; half <<= 1 {
		wr, wi := f.twr[half:2*half], f.twi[half:2*half]
		for start := 0; start < m; start += 2 * half {
			ar, ai := re[start:start+half], im[start:start+half]
			br, bi := re[start+half:start+2*half], im[start+half:start+2*half]
			for j := range ar {
				tr := wr[j]*br[j] - wi[j]*bi[j]
				ti := wr[j]*bi[j] + wi[j]*br[j]
				br[j], bi[j] = ar[j]-tr, ai[j]-ti
				ar[j], ai[j] = ar[j]+tr, ai[j]+ti
			}
		}
	}
	// Split Z (the FFT of even + i·odd samples) into the spectrum of x:
	// X[k] = E[k] + e^{-2πik/n} O[k], E = (Z[k] + Z*[m-k])/2,
	// O = (Z[k] - Z*[m-k])/2i.
	for k := lo; k <= hi; k++ {
		var xr, xi float64
		switch k {
		case 0:
			xr = re[0] + im[0]
		case m:
			xr = re[0] - im[0]
		default:
			a, b, c, d := re[k], im[k], re[m-k], im[m-k]
			er, ei := (a+c)/2, (b-d)/2
			or, oi := (b+d)/2, (c-a)/2
			wr, wi := f.splitC[k], -f.splitS[k]
			xr = er + wr*or - wi*oi
			xi = ei + wr*oi + wi*or
		}
		dst[k-lo] = xr*xr + xi*xi
	}
}
