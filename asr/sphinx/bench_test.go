package sphinx

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/asr"
)

// benchPhrases are the answers of a small IVR menu, the grammar of the
// grammar-mode benchmark and the reference transcripts of both.
var benchPhrases = []string{
	"check my balance", "billing", "technical support", "agent",
	"pay my bill", "report a lost card", "speak to a representative", "cancel my account",
}

// benchVoices are the espeak-ng voices and speeds (words per minute) each
// phrase is spoken in.
var benchVoices = []struct {
	voice string
	wpm   int
}{
	{"en-us", 150}, {"en-us", 120}, {"en-us+f3", 160}, {"en-gb-x-rp", 175},
}

// BenchmarkRecognize measures, per decoding mode, on every phrase in every
// voice (32 utterances) synthesised by espeak-ng, passed through G.711
// μ-law at 8 kHz and fed to a session at 8 kHz (upsampled to the model's
// 16 kHz by the session):
//
//   - rtf: decoder time over audio time (Result.Processing / Result.Audio,
//     one decoder, one goroutine), including grammar mode's second pass
//     over the phone loop for the confidence; wall-clock time, so it
//     grows on a busy machine;
//   - cpu-rtf: the process's CPU time (user and system, all threads) over
//     the audio time: the cost that does not depend on the machine's load
//     (it includes the VAD, the resampler and the session's goroutines);
//   - phrase-%: utterances whose transcript is exactly the phrase said;
//   - wer-%: word error rate over all utterances;
//   - latency-ms: median time from the end of speech (the VAD's decision)
//     to the final result;
//   - conf-right, conf-wrong: the mean confidence of the right and of the
//     wrong transcripts, and conf-right-min, conf-wrong-max the lowest
//     right and highest wrong one, to choose a min_confidence;
//   - phrase-%@min, misheard-%@min: right transcripts kept and wrong ones
//     let through with a min_confidence of benchMinConfidence (0.05).
//
// Reproduce with
//
//	go test -run '^$' -bench Recognize -benchtime 1x ./asr/sphinx
func BenchmarkRecognize(b *testing.B) {
	be := shared(b)
	type clip struct {
		text string
		pcm  []int16
	}
	var clips []clip
	for _, v := range benchVoices {
		for _, p := range benchPhrases {
			clips = append(clips, clip{p, padded(telephone(b, speak(b, v.voice, v.wpm, p), 22050), 8000, 500*time.Millisecond)})
		}
	}
	for _, mode := range []struct {
		name string
		req  asr.Request
	}{
		{"grammar", asr.Request{Phrases: benchPhrases}},
		{"open", asr.Request{Mode: asr.ModeOpen}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var audio, proc time.Duration
			var right, words, errs int
			var latencies []time.Duration
			var wrong []string
			var confRight, confWrong float64
			rightMin, wrongMax := 1.0, 0.0
			var rightKept, wrongKept int // with a min_confidence of benchMinConfidence
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				for _, c := range clips {
					res := recognize(b, be, mode.req, c.pcm, 8000)
					if res.Outcome == asr.OutcomeError {
						b.Fatalf("%q: %v", c.text, res.Err)
					}
					audio += res.Audio
					proc += res.Processing
					latencies = append(latencies, res.Latency)
					ref := strings.Fields(c.text)
					words += len(ref)
					errs += editDistance(ref, strings.Fields(res.Text))
					if res.Text == c.text {
						right++
						confRight += res.Confidence
						rightMin = min(rightMin, res.Confidence)
						if res.Confidence >= benchMinConfidence {
							rightKept++
						}
					} else {
						confWrong += res.Confidence
						wrongMax = max(wrongMax, res.Confidence)
						if res.Confidence >= benchMinConfidence && res.Text != "" {
							wrongKept++
						}
						if len(wrong) < 8 {
							wrong = append(wrong, c.text+" → "+res.Text)
						}
					}
				}
			}
			cpu := cpuTime(b) - cpu0
			n := b.N * len(clips)
			slices.Sort(latencies)
			b.ReportMetric(proc.Seconds()/audio.Seconds(), "rtf")
			b.ReportMetric(100*float64(rightKept)/float64(n), "phrase-%@min")
			b.ReportMetric(100*float64(wrongKept)/float64(n), "misheard-%@min")
			b.ReportMetric(cpu.Seconds()/audio.Seconds(), "cpu-rtf")
			b.ReportMetric(100*float64(right)/float64(n), "phrase-%")
			b.ReportMetric(100*float64(errs)/float64(words), "wer-%")
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "latency-ms")
			if right > 0 {
				b.ReportMetric(confRight/float64(right), "conf-right")
				b.ReportMetric(rightMin, "conf-right-min")
			}
			if right < n {
				b.ReportMetric(confWrong/float64(n-right), "conf-wrong")
				b.ReportMetric(wrongMax, "conf-wrong-max")
			}
			b.Logf("%s: %d/%d phrases right; misheard: %q", mode.name, right, n, wrong)
		})
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMinConfidence is the min_confidence the benchmark also scores at:
// phrase-%@min counts right transcripts it keeps, misheard-%@min wrong
// ones it lets through (the rest become no_match, a re-prompt).
const benchMinConfidence = 0.05

// editDistance is the word-level Levenshtein distance (substitutions,
// insertions, deletions) between a reference and a hypothesis.
func editDistance(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		ref, hyp string
		want     int
	}{
		{"check my balance", "check my balance", 0},
		{"check my balance", "check balance", 1},
		{"check my balance", "", 3},
		{"", "the", 1},
		{"pay my bill", "play my bell now", 3},
	} {
		if got := editDistance(strings.Fields(tc.ref), strings.Fields(tc.hyp)); got != tc.want {
			t.Errorf("%q vs %q: %d, want %d", tc.ref, tc.hyp, got, tc.want)
		}
	}
}

// BenchmarkRecognizeHuman measures grammar mode on real human speech: Debian's
// pocketsphinx-testdata recordings of speakers naming playing cards, passed
// through G.711 μ-law at 8 kHz (as a phone call carries them) and fed to a
// session at 8 kHz, with the cards grammar. It reports phrase-%, wer-% and the
// median end-of-speech-to-result latency-ms, as BenchmarkRecognize does for
// synthetic speech.
//
//	go test -run '^$' -bench RecognizeHuman -benchtime 1x ./asr/sphinx
func BenchmarkRecognizeHuman(b *testing.B) {
	be := shared(b)
	gram := readFile(b, testData+"/cards/cards.gram")
	want := map[string]string{}
	for _, line := range strings.Split(readFile(b, testData+"/cards/cards.transcription"), "\n") {
		i, j, k := strings.Index(line, "<s>"), strings.Index(line, "</s>"), strings.LastIndex(line, "(")
		if i >= 0 && j > i && k > j {
			want[line[k+1:k+4]] = strings.Join(strings.Fields(line[i+3:j]), " ")
		}
	}
	type clip struct {
		text string
		pcm  []int16
	}
	var clips []clip
	for _, f := range cards(b) {
		pcm, rate := readWAV(b, f)
		id := strings.TrimSuffix(f[strings.LastIndex(f, "/")+1:], ".wav")
		clips = append(clips, clip{want[id], padded(telephone(b, pcm, rate), 8000, 500*time.Millisecond)})
	}
	var right, words, errs int
	var latencies []time.Duration
	var wrong []string
	b.ResetTimer()
	for range b.N {
		for _, c := range clips {
			res := recognize(b, be, asr.Request{Grammar: gram}, c.pcm, 8000)
			if res.Outcome == asr.OutcomeError {
				b.Fatalf("%q: %v", c.text, res.Err)
			}
			latencies = append(latencies, res.Latency)
			ref := strings.Fields(c.text)
			words += len(ref)
			errs += editDistance(ref, strings.Fields(res.Text))
			if res.Text == c.text {
				right++
			} else if len(wrong) < 8 {
				wrong = append(wrong, c.text+" → "+res.Text)
			}
		}
	}
	n := b.N * len(clips)
	slices.Sort(latencies)
	b.ReportMetric(100*float64(right)/float64(n), "phrase-%")
	b.ReportMetric(100*float64(errs)/float64(words), "wer-%")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "latency-ms")
	b.Logf("human speech through G.711: %d/%d right; misheard: %q", right, n, wrong)
}
