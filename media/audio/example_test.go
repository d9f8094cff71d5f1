package audio_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// A prompt synthesized at 22050 Hz (espeak-ng's rate) is loaded and
// converted to the 8 kHz of a G.711 call in one go.
func ExampleResample() {
	var file bytes.Buffer
	_ = audio.WriteWAV(&file, audio.Tone(1000, 22050, time.Second, 0.5), 22050)

	pcm, rate, err := audio.ReadWAV(&file)
	if err != nil {
		fmt.Println(err)
		return
	}
	tel, err := audio.Resample(pcm, rate, 8000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d samples at %d Hz -> %d samples at 8000 Hz, %.1f dBFS\n",
		len(pcm), rate, len(tel), audio.DBFS(tel))
	// Output: 22050 samples at 22050 Hz -> 8000 samples at 8000 Hz, -9.0 dBFS
}

// A WebRTC leg at 48 kHz talks to a G.711 leg at 8 kHz: one Resampler per
// direction, buffers sized once, one 20 ms frame per Process call.
func ExampleResampler() {
	down, err := audio.NewResampler(48000, 8000)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := audio.Tone(440, 48000, 20*time.Millisecond, 0.5)
	out := make([]int16, down.OutLen(len(in)))
	for range 3 {
		n := down.Process(out, in)
		fmt.Println(down, n)
	}
	// Output:
	// resample 48000->8000 160
	// resample 48000->8000 160
	// resample 48000->8000 160
}

// The recorder writes a placeholder header first and rewrites it as audio
// arrives, so the file is valid even if the process dies.
func ExampleWAVHeader() {
	hdr := audio.WAVHeader(nil, 0, 8000, 1)
	fmt.Println(len(hdr), string(hdr[:4]), string(hdr[36:40]))
	hdr = audio.WAVHeader(hdr[:0], 16000, 8000, 1) // after one second
	fmt.Println(len(hdr))
	// Output:
	// 44 RIFF data
	// 44
}
