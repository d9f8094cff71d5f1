package dtmf_test

import (
	"fmt"
	"io"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
)

// The media loop hands every decoded 20 ms frame to the Detector; a digit
// comes out about 40 ms into its tone, once.
func ExampleDetector() {
	d, err := dtmf.NewDetector(8000)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A key held for half a second, a pause, another key.
	pcm, _ := dtmf.AppendTone(nil, '4', 8000, 500*time.Millisecond, dtmf.DefaultToneLevel)
	pcm = append(pcm, make([]int16, 800)...)
	pcm, _ = dtmf.AppendTone(pcm, '#', 8000, 100*time.Millisecond, dtmf.DefaultToneLevel)
	for i := 0; i+160 <= len(pcm); i += 160 {
		for _, digit := range d.Process(pcm[i : i+160]) {
			fmt.Printf("%c at %d ms\n", digit, (i+160)/8)
		}
	}
	// Output:
	// 4 at 40 ms
	// # at 640 ms
}

// The player reads frames from a ToneSource to send digits in-band.
func ExampleToneSource() {
	src, err := dtmf.NewToneSource("12#", 8000, 0, 0, dtmf.DefaultToneLevel)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := make([]int16, 160)
	frames := 0
	for {
		_, err := src.Read(frame)
		if err == io.EOF {
			break
		}
		frames++ // send frame
	}
	fmt.Println(frames, "frames of 20 ms")
	// Output: 30 frames of 20 ms
}

// A carrier sends telephone-events and leaves the tones in the audio: the
// Merger passes each key press on once.
func ExampleMerger() {
	m := dtmf.NewMerger(dtmf.WithWindow(300 * time.Millisecond))
	start := time.Now()
	ms := func(n int) time.Time { return start.Add(time.Duration(n) * time.Millisecond) }
	arrivals := []struct {
		digit byte
		route dtmf.Route
		at    time.Time
	}{
		{'5', dtmf.RouteInband, ms(40)},   // tone recognised
		{'5', dtmf.RouteRFC4733, ms(120)}, // end packet of the same press
		{'5', dtmf.RouteInband, ms(290)},  // the key pressed again
		{'5', dtmf.RouteRFC4733, ms(370)},
	}
	for _, a := range arrivals {
		fmt.Printf("%c by %v: report %v\n", a.digit, a.route, m.Add(a.digit, a.route, a.at))
	}
	// Output:
	// 5 by inband: report true
	// 5 by rfc4733: report false
	// 5 by inband: report true
	// 5 by rfc4733: report false
}
