package dtmf

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// Talk-off: speech and music must not be taken for digits. An IVR that
// hears a digit in the caller's voice jumps to the wrong menu.

// paragraphs hold about 75 s (English) and 140 s (Mandarin) of espeak-ng
// speech: prompts of the kind an IVR plays and callers answer with.
var paragraphs = map[string]string{
	"en-us": "Thank you for calling the customer service line. Your call is important to us and will be " +
		"answered in the order it was received. While you wait, you may want to know that many questions " +
		"can be answered on our website, where you can check your balance, review recent transactions, " +
		"update your mailing address, and order new checks at any time of the day or night. If you are " +
		"calling about a lost or stolen card, please stay on the line and an agent will help you block the " +
		"card and send a replacement within five business days. For questions about a recent payment, " +
		"please have your account number and the date of the payment ready. Our opening hours are Monday " +
		"to Friday from eight in the morning until eight in the evening, and Saturday from nine until one. " +
		"Calls may be recorded for quality and training purposes. If you would prefer a call back, press " +
		"one now and we will keep your place in the queue. Did you know that you can also reach us by email " +
		"or through the chat window in our mobile app? Most messages are answered within one hour. We " +
		"apologise for the delay and appreciate your patience. An agent will be with you shortly. Please do " +
		"not hang up, as you would lose your place in line. The weather today is sunny with a light breeze " +
		"from the west, and temperatures will reach twenty two degrees in the afternoon. Tomorrow, clouds " +
		"will gather in the morning and rain is expected by the evening, so remember to take an umbrella.",
	"cmn": "感谢您致电客户服务热线。您的来电对我们非常重要，我们将按照来电顺序为您服务。在等待期间，您可以访问我们的网站，" +
		"随时查询余额、查看最近的交易记录、更新邮寄地址以及订购新的支票。如果您的银行卡丢失或被盗，请不要挂机，" +
		"客服人员将帮助您冻结银行卡，并在五个工作日内为您寄送新卡。如果您对最近的一笔付款有疑问，请准备好您的账号和付款日期。" +
		"我们的营业时间是星期一至星期五早上八点到晚上八点，星期六早上九点到下午一点。为了保证服务质量，您的通话可能会被录音。" +
		"如果您希望我们回电，请现在按一号键，我们将为您保留排队位置。您知道吗，您也可以通过电子邮件或者手机应用程序中的在线聊天窗口联系我们。" +
		"大多数信息会在一个小时内得到回复。对于给您带来的不便，我们深表歉意，感谢您的耐心等待。客服人员将很快为您服务。" +
		"请不要挂机，否则您将失去排队位置。今天天气晴朗，有西风微风，下午气温将达到二十二度。明天上午多云，傍晚有雨，如果您要出门，请记得带伞。",
}

// speech writes espeak-ng's rendering of the paragraph in voice.
func (s *soxBench) speech(voice string) string {
	s.t.Helper()
	espeak := needTool(s.t, "espeak-ng")
	out, err := exec.Command(espeak, "-v", voice, "--stdout", paragraphs[voice]).Output()
	if err != nil {
		s.t.Fatalf("espeak-ng -v %s: %v", voice, err)
	}
	path := s.file()
	if err := os.WriteFile(path, out, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// resample converts a file to rate with sox's own resampler, as the
// network would hand the audio over: μ-law at 8000 Hz, linear at 16000 Hz.
func (s *soxBench) resample(in string, rate int) string {
	out := s.file()
	if rate == 8000 {
		s.run(in, "-e", "u-law", "-r", "8000", out)
	} else {
		s.run(in, "-e", "signed-integer", "-b", "16", "-r", strconv.Itoa(rate), out)
	}
	return out
}

// listen runs pcm through a Detector in 20 ms frames and returns the
// digits and the longest run of blocks that individually passed every check
// (a digit needs at least 5).
func listen(t *testing.T, pcm []int16, rate int) (digits string, longest int) {
	t.Helper()
	d, err := NewDetector(rate)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(pcm) > 0 {
		n := min(len(pcm), d.half) // one block at a time, to watch the runs
		got = append(got, d.Process(pcm[:n])...)
		pcm = pcm[n:]
		if d.cand != 0 {
			longest = max(longest, d.run)
		}
	}
	return string(got), longest
}

func TestTalkOffSpeech(t *testing.T) {
	for _, voice := range []string{"en-us", "cmn"} {
		for _, rate := range []int{8000, 16000} {
			t.Run(voice+"/"+strconv.Itoa(rate), func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				pcm, got := s.read(s.resample(s.speech(voice), rate))
				if got != rate {
					t.Fatalf("read %d Hz", got)
				}
				secs := float64(len(pcm)) / float64(rate)
				if secs < 60 {
					t.Fatalf("only %.1f s of speech; talk-off needs a minute", secs)
				}
				digits, longest := listen(t, pcm, rate)
				t.Logf("%.1f s of %s speech: %d digits, longest run of DTMF-like blocks %d", secs, voice, len(digits), longest)
				if digits != "" {
					t.Errorf("talk-off: speech gave digits %q", digits)
				}
			})
		}
	}
}

// chords renders a progression of three- and four-note chords in six
// timbres, several of them built on notes within 2 % of DTMF frequencies
// (F5 698 Hz, G5 784 Hz, Bb5 932 Hz, E6 1319 Hz, Gb6 1480 Hz, Ab6 1661 Hz).
func (s *soxBench) chords(notes [][]string, timbres []string) string {
	s.t.Helper()
	var files []string
	for _, timbre := range timbres {
		for _, chord := range notes {
			f := s.file()
			args := []string{"-r", "48000", "-c", strconv.Itoa(len(chord)), "-n", "-c", "1", "-b", "16", f,
				"synth", "0.5"}
			for _, n := range chord {
				args = append(args, timbre, n)
			}
			args = append(args, "remix", "-", "fade", "0.01", "0.5", "0.05", "vol", "0.6")
			s.run(args...)
			files = append(files, f)
		}
	}
	return s.concat(files...)
}

var musicChords = [][]string{
	{"F5", "Gb6", "C5"}, {"F5", "E6", "A5"}, {"G5", "E6", "C6"}, {"Bb5", "Ab6", "F6"},
	{"G5", "Gb6", "D6"}, {"A5", "E6", "C#6"}, {"F5", "A5", "C6", "E6"}, {"C5", "E5", "G5", "C6"},
	{"D5", "F#5", "A5", "D6"}, {"Bb5", "Eb6", "G6"},
}

func TestTalkOffMusic(t *testing.T) {
	s := newSox(t)
	music := s.chords(musicChords, []string{"sine", "triangle", "sawtooth", "square", "pluck", "trapezium"})
	// The control: two pure sines on F5 and Gb6 are the tones of '3',
	// 0.2 % off, and the same pipeline must hear them.
	control := s.chords([][]string{{"F5", "Gb6"}}, []string{"sine"})
	for _, rate := range []int{8000, 16000} {
		pcm, _ := s.read(s.resample(music, rate))
		digits, longest := listen(t, pcm, rate)
		t.Logf("%d Hz: %.1f s of chords: %d digits, longest run of DTMF-like blocks %d",
			rate, float64(len(pcm))/float64(rate), len(digits), longest)
		if digits != "" {
			t.Errorf("%d Hz: talk-off: music gave digits %q", rate, digits)
		}
		pcm, _ = s.read(s.resample(control, rate))
		if digits, _ := listen(t, pcm, rate); digits != "3" {
			t.Errorf("%d Hz: the F5+Gb6 sine pair gave %q, want 3", rate, digits)
		}
	}
}

// TestTalkDown presses keys while speech plays in the caller's audio (the
// prompt's echo, or the caller talking): digits must still be heard over
// speech whose level is 10 dB below that of the tones.
func TestTalkDown(t *testing.T) {
	s := newSox(t)
	var pairs []pair
	for i := range len(keypad) {
		p := digitPair(keypad[i], 100*time.Millisecond)
		p.silenceAfter = 300 * time.Millisecond
		pairs = append(pairs, p)
	}
	tones := s.sequence(8000, pairs...) // 6.4 s
	toneDB := audio.DBFS(s.tonePCM(pairs[0]))
	speech := s.file()
	s.run(s.speech("en-us"), "-r", "8000", "-b", "16", speech, "trim", "0", "6.4")
	// Scale the speech so its RMS over the 6.4 s (pauses included) is
	// 10 dB below the tones'.
	pcm, _ := s.read(speech)
	gain := toneDB - 10 - audio.DBFS(pcm)
	scaled := s.file()
	s.run(speech, scaled, "gain", strconv.FormatFloat(gain, 'f', 2, 64))
	pcm, _ = s.read(s.ulaw(s.mix(tones, scaled)))
	got, _ := listen(t, pcm, 8000)
	t.Logf("tones %.1f dBFS, speech %.1f dBFS: %q", toneDB, toneDB-10, got)
	if got != keypad {
		t.Errorf("digits over speech: got %q, want %q", got, keypad)
	}
}

// tonePCM returns the samples of one pair at 8000 Hz.
func (s *soxBench) tonePCM(p pair) []int16 {
	p.silenceAfter = 0
	pcm, _ := s.read(s.tone(8000, p))
	return pcm
}

// TestTalkOffNoise: a minute of white noise, loud and quiet, is no digit.
func TestTalkOffNoise(t *testing.T) {
	s := newSox(t)
	for _, vol := range []string{"0.5", "0.05", "0.005"} {
		noise := s.file()
		s.run("-r", "8000", "-n", "-c", "1", "-b", "16", noise, "synth", "60", "whitenoise", "vol", vol)
		pcm, _ := s.read(s.ulaw(noise))
		if digits, longest := listen(t, pcm, 8000); digits != "" || longest > 0 {
			t.Errorf("noise at vol %s: digits %q, longest run %d", vol, digits, longest)
		}
	}
}
