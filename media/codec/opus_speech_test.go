//go:build cgo

package codec_test

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"testing"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
)

const (
	rate48  = 48000
	frame20 = 960 // 20 ms at 48 kHz
)

// speech48k synthesizes a phrase with espeak-ng (22.05 kHz) and resamples
// it to 48 kHz. A missing espeak-ng fails the test: `make test` installs it.
func speech48k(t testing.TB, text string) []int16 {
	t.Helper()
	path, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("espeak-ng is required for the Opus speech tests (apt-get install espeak-ng): %v", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), path, "-v", "en-us", "--stdout", text)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, stderr.String())
	}
	pcm, rate, err := audio.ReadWAV(&stdout)
	if err != nil {
		t.Fatalf("reading espeak-ng's WAV: %v", err)
	}
	out, err := audio.Resample(pcm, rate, rate48)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// encode20 codes pcm in 20 ms frames, the last one padded with silence.
func encode20(t testing.TB, c codec.Codec, pcm []int16) [][]byte {
	t.Helper()
	enc, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	buf := make([]byte, 1500)
	in := make([]int16, frame20)
	for off := 0; off < len(pcm); off += frame20 {
		clear(in)
		copy(in, pcm[off:min(off+frame20, len(pcm))])
		n, err := enc.Encode(buf, in)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, slices.Clone(buf[:n]))
	}
	return pkts
}

// lossMode says what the receiver does for a lost packet.
type lossMode int

const (
	noLoss lossMode = iota
	conceal
	fec
)

// decodeWithLoss decodes pkts with a fresh decoder, treating every packet
// for which lost returns true according to mode, and returns the audio.
func decodeWithLoss(t testing.TB, pkts [][]byte, lost func(int) bool, mode lossMode) []int16 {
	t.Helper()
	d, err := codec.Opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, 0, len(pkts)*frame20)
	buf := make([]int16, codec.OpusMaxFrameSamples) // 120 ms: any packet fits
	for i, p := range pkts {
		var n int
		switch {
		case mode == noLoss || !lost(i):
			n, err = d.Decode(buf, p)
		case mode == fec && i+1 < len(pkts):
			n, err = d.(codec.FECDecoder).DecodeFEC(buf[:frame20], pkts[i+1])
		default:
			n, err = d.(codec.Concealer).Conceal(buf[:frame20])
		}
		if err != nil || n != frame20 {
			t.Fatalf("packet %d: got %d samples, %v; want %d", i, n, err, frame20)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// spectralSimilarity compares the short-time spectra of a and b (20 ms
// Hann-windowed frames, 100 Hz bins up to 8 kHz): the correlation of their
// log magnitudes over the frames where a is not silent. 1 is identical.
func spectralSimilarity(a, b []int16) float64 {
	const bins = 80
	// cos and sin of each bin's frequency, windowed, per sample.
	var cosw, sinw [bins][frame20]float64
	for k := range bins {
		w := 2 * math.Pi * float64(k+1) * 100 / rate48
		for i := range frame20 {
			win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/frame20)
			cosw[k][i], sinw[k][i] = win*math.Cos(w*float64(i)), win*math.Sin(w*float64(i))
		}
	}
	var xs, ys []float64
	for off := 0; off+frame20 <= min(len(a), len(b)); off += frame20 {
		fa, fb := a[off:off+frame20], b[off:off+frame20]
		if codec.RMS(fa) < 100 { // below -50 dBFS
			continue
		}
		for k := range bins {
			var ar, ai, br, bi float64
			for i := range frame20 {
				c, s := cosw[k][i], sinw[k][i]
				ar, ai = ar+float64(fa[i])*c, ai+float64(fa[i])*s
				br, bi = br+float64(fb[i])*c, bi+float64(fb[i])*s
			}
			xs = append(xs, math.Log(math.Hypot(ar, ai)+1))
			ys = append(ys, math.Log(math.Hypot(br, bi)+1))
		}
	}
	return correlation(xs, ys)
}

func correlation(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i], my+y[i]
	}
	mx, my = mx/float64(len(x)), my/float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestOpusSpeech codes synthesized speech at the default 24 kbit/s and
// compares the decoded audio with the input.
func TestOpusSpeech(t *testing.T) {
	in := speech48k(t, "check my balance")
	pkts := encode20(t, codec.Opus, in)
	out := decodeWithLoss(t, pkts, nil, noLoss)
	var bytes int
	for _, p := range pkts {
		bytes += len(p)
	}
	snr, lag := codec.AlignedSNR(in, out, 0, len(in)-600, 600) // the delay is 6.5 ms (312 samples)
	sim := spectralSimilarity(in, out[lag:])
	t.Logf("%.2f s of speech, %d packets, %.1f kbit/s: SNR %.1f dB at delay %d samples (%.1f ms), spectral similarity %.3f",
		float64(len(in))/rate48, len(pkts), float64(bytes*8)/(float64(len(pkts))*0.02)/1000, snr, lag, float64(lag)/48, sim)
	if snr < 5 {
		t.Errorf("SNR %.1f dB < 5 dB", snr)
	}
	if sim < 0.85 {
		t.Errorf("spectral similarity %.3f < 0.85", sim)
	}
}

// TestOpusLossRecovery loses every fifth packet of speech and recovers each
// loss by concealment or by in-band FEC from the next packet. Both must give
// audio of the right length that is not silent where the speech was not,
// and FEC, which has a coarse copy of the lost frame, must come closer to
// the loss-free decoding than concealment, which only extrapolates.
func TestOpusLossRecovery(t *testing.T) {
	in := speech48k(t, "check my balance")
	pkts := encode20(t, codec.Opus, in)
	lost := func(i int) bool { return i%5 == 4 }
	clean := decodeWithLoss(t, pkts, lost, noLoss)
	plc := decodeWithLoss(t, pkts, lost, conceal)
	withFEC := decodeWithLoss(t, pkts, lost, fec)

	// Collect the lost frames (and the frame after each, where the decoder
	// recovers) of each decoding.
	var ref, gotPLC, gotFEC []int16
	losses, voiced := 0, 0
	for i := range pkts {
		if !lost(i) || i+1 >= len(pkts) {
			continue
		}
		losses++
		seg := func(x []int16) []int16 { return x[i*frame20 : (i+2)*frame20] }
		ref, gotPLC, gotFEC = append(ref, seg(clean)...), append(gotPLC, seg(plc)...), append(gotFEC, seg(withFEC)...)
		lostFrame := func(x []int16) []int16 { return x[i*frame20 : (i+1)*frame20] }
		if codec.RMS(lostFrame(clean)) > 300 { // speech, above -40 dBFS
			voiced++
			for name, x := range map[string][]int16{"concealment": plc, "FEC": withFEC} {
				if r := codec.RMS(lostFrame(x)); r < 30 {
					t.Errorf("frame %d: %s RMS %.0f where the speech had %.0f: silent", i, name, r, codec.RMS(lostFrame(clean)))
				}
			}
		}
	}
	snrPLC, snrFEC := codec.SegmentSNR(ref, gotPLC), codec.SegmentSNR(ref, gotFEC)
	t.Logf("%d losses (%d in speech): SNR against loss-free decoding over lost+next frames: concealment %.1f dB, FEC %.1f dB; whole utterance: concealment %.1f dB, FEC %.1f dB",
		losses, voiced, snrPLC, snrFEC, codec.SegmentSNR(clean, plc), codec.SegmentSNR(clean, withFEC))
	if voiced < 5 {
		t.Fatalf("only %d losses fell in speech; the test needs more", voiced)
	}
	if snrFEC <= snrPLC {
		t.Errorf("FEC (%.1f dB) is no better than concealment (%.1f dB)", snrFEC, snrPLC)
	}
}

// BenchmarkOpusSpeech times one 20 ms frame of synthesized speech through
// each Opus operation the media engine uses. Encoding cost depends mostly
// on OpusOptions.Complexity. Concealment and FEC only ever follow decoded
// packets, so they are timed together with the Decode before them.
func BenchmarkOpusSpeech(b *testing.B) {
	in := speech48k(b, "check my balance, then press one to hear your last five transactions")
	frames := make([][]int16, 0, len(in)/frame20)
	for off := 0; off+frame20 <= len(in); off += frame20 {
		frames = append(frames, in[off:off+frame20])
	}
	pkts := encode20(b, codec.Opus, in)
	for _, cx := range []int{1, 5, 10} {
		b.Run(fmt.Sprintf("Encode/complexity%d", cx), func(b *testing.B) {
			enc, err := codec.NewOpus(codec.OpusOptions{Complexity: cx}).NewEncoder()
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1500)
			b.ReportAllocs()
			defer codec.ReportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := enc.Encode(buf, frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	decodeBench := func(name string, lossOp func(d codec.Decoder, dst []int16, next []byte) (int, error)) {
		b.Run(name, func(b *testing.B) {
			d, err := codec.Opus.NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			out := make([]int16, codec.OpusMaxFrameSamples)
			b.ReportAllocs()
			defer codec.ReportCPU(b)()
			i := 0
			for b.Loop() {
				p := pkts[i%len(pkts)]
				if _, err := d.Decode(out, p); err != nil {
					b.Fatal(err)
				}
				if lossOp != nil {
					if _, err := lossOp(d, out[:frame20], pkts[(i+1)%len(pkts)]); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
	decodeBench("Decode", nil)
	decodeBench("DecodeThenConceal", func(d codec.Decoder, dst []int16, _ []byte) (int, error) {
		return d.(codec.Concealer).Conceal(dst)
	})
	decodeBench("DecodeThenDecodeFEC", func(d codec.Decoder, dst []int16, next []byte) (int, error) {
		return d.(codec.FECDecoder).DecodeFEC(dst, next)
	})
}
