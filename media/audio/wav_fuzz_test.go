package audio

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzReadWAV feeds arbitrary bytes to ReadWAV. It must never panic or hang,
// and whatever it accepts must survive a WriteWAV/ReadWAV round trip
// unchanged. The seed corpus is every valid and invalid case of the unit
// tests.
func FuzzReadWAV(f *testing.F) {
	for _, tc := range validWAVs() {
		f.Add(tc.file)
	}
	for _, tc := range invalidWAVs() {
		f.Add(tc.file)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, rate, err := ReadWAV(bytes.NewReader(data))
		if err != nil {
			if pcm != nil || rate != 0 {
				t.Fatalf("error %v with results %d samples, %d Hz", err, len(pcm), rate)
			}
			return
		}
		if rate <= 0 || rate > maxWAVRate {
			t.Fatalf("accepted rate %d", rate)
		}
		if len(pcm) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(data))
		}
		var buf bytes.Buffer
		if err := WriteWAV(&buf, pcm, rate); err != nil {
			t.Fatal(err)
		}
		again, rate2, err := ReadWAV(&buf)
		if err != nil || rate2 != rate || !slices.Equal(again, pcm) {
			t.Fatalf("round trip changed the audio: %v", err)
		}
	})
}
