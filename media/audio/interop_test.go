package audio

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// These tests read files written by the real tools the project uses
// (espeak-ng for prompts, sox for telephone audio). They fail when a tool is
// missing: `make test` installs both, and a skipped test would hide a broken setup.

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (make test installs it: Debian packages espeak-ng and sox)", name)
	}
	return path
}

func TestReadWAVFromEspeakStdout(t *testing.T) {
	espeak := needTool(t, "espeak-ng")
	out, err := exec.Command(espeak, "--stdout", "-v", "en-us", "check my balance").Output()
	if err != nil {
		t.Fatalf("espeak-ng: %v", err)
	}
	pcm, rate, err := ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if rate != 22050 || len(pcm) < rate/2 {
		t.Fatalf("got %d samples at %d Hz", len(pcm), rate)
	}
	level := DBFS(pcm)
	t.Logf("espeak-ng --stdout: %d samples at %d Hz (%.2f s), %.1f dBFS", len(pcm), rate,
		float64(len(pcm))/float64(rate), level)
	if level < -40 {
		t.Errorf("speech at %.1f dBFS looks like silence", level)
	}
	tel, err := Resample(pcm, rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if d := DBFS(tel) - level; d < -1.5 || d > 0.5 {
		t.Errorf("22050->8000 changed the speech level by %.2f dB", d)
	}
}

// TestReadWAVFromSox converts a 16-bit tone with sox into every encoding
// ReadWAV claims to support and checks the decoded audio against the source.
func TestReadWAVFromSox(t *testing.T) {
	sox := needTool(t, "sox")
	dir := t.TempDir()
	src := Tone(1000, 8000, 200*time.Millisecond, 0.5)
	in := filepath.Join(dir, "in.wav")
	var buf bytes.Buffer
	if err := WriteWAV(&buf, src, 8000); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	g711 := func(enc func(int16) byte, dec func(byte) int16) []int16 {
		out := make([]int16, len(src))
		for i, s := range src {
			out[i] = dec(enc(s))
		}
		return out
	}
	tests := []struct {
		name   string
		args   []string
		want   []int16 // exact expected samples; nil means src
		minSNR float64 // dB against src; 0 means bit-exact
	}{
		// sox's G.711 is the Sun reference code too, so codec's decode of
		// codec's encode must match it sample for sample.
		{"u-law", []string{"-e", "u-law"}, g711(codec.MulawEncode, codec.MulawDecode), 0},
		{"a-law", []string{"-e", "a-law"}, g711(codec.AlawEncode, codec.AlawDecode), 0},
		{"8-bit unsigned", []string{"-b", "8", "-e", "unsigned-integer"}, nil, 35},
		{"24-bit", []string{"-b", "24"}, nil, 0},
		{"32-bit", []string{"-b", "32"}, nil, 0},
		{"float", []string{"-e", "floating-point", "-b", "32"}, nil, 0},
		{"stereo", []string{"-c", "2"}, nil, 0},
		{"6 channels extensible", []string{"-c", "6"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".wav")
			args := append(append([]string{"-D", in}, tc.args...), out)
			if msg, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
				t.Fatalf("sox %v: %v\n%s", args, err, msg)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, rate, err := ReadWAV(f)
			if err != nil {
				t.Fatal(err)
			}
			if rate != 8000 || len(got) != len(src) {
				t.Fatalf("got %d samples at %d Hz, want %d at 8000", len(got), rate, len(src))
			}
			want := tc.want
			if want == nil {
				want = src
			}
			var sig, noise float64
			for i := range want {
				d := float64(got[i]) - float64(want[i])
				sig += float64(want[i]) * float64(want[i])
				noise += d * d
			}
			if tc.minSNR == 0 {
				if noise != 0 {
					t.Errorf("not bit-exact: error power %v", noise)
				}
				return
			}
			snr := db(sig / noise)
			t.Logf("%s: SNR %.1f dB", tc.name, snr)
			if snr < tc.minSNR {
				t.Errorf("SNR %.1f dB < %g dB", snr, tc.minSNR)
			}
		})
	}
}
