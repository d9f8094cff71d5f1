package codec_test

import (
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// An SDP answerer resolves the remote "a=rtpmap:8 PCMA/8000" line and creates
// the per-call encoder, then encodes one 20 ms frame.
func ExampleLookup() {
	c, ok := codec.Lookup("pcma", 8000, 0)
	if !ok {
		fmt.Println("unsupported")
		return
	}
	enc, err := c.NewEncoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	pcm := make([]int16, 160) // 20 ms of silence at 8 kHz
	payload := make([]byte, 160)
	n, err := enc.Encode(payload, pcm)
	fmt.Println(c.Name(), c.StaticPayloadType(), n, err, payload[0] == codec.AlawSilence)
	// Output: PCMA 8 160 <nil> true
}

func ExampleBuiltin() {
	for _, c := range codec.Builtin() {
		fmt.Printf("%d %s/%d\n", c.StaticPayloadType(), c.Name(), c.ClockRate())
	}
	// Output:
	// 0 PCMU/8000
	// 8 PCMA/8000
}

// Before answering an a=ptime:30 for Opus, the session checks it and falls
// back to a frame size the encoder supports.
func ExampleValidPtime() {
	for _, c := range []codec.Codec{codec.PCMU, codec.Opus} {
		fmt.Println(c, codec.ValidPtime(c, 30*time.Millisecond), codec.ValidPtime(c, 20*time.Millisecond))
	}
	// Output:
	// PCMU/8000 true true
	// opus/48000/2 false true
}

// G.722 codes 16 kHz audio into one octet per two samples, while its RTP
// timestamp runs at 8000 Hz: 20 ms is 320 samples, 160 octets and 160
// timestamp units.
func ExampleG722() {
	c, _ := codec.Lookup("G722", 8000, 1)
	enc, _ := c.NewEncoder()
	dec, _ := c.NewDecoder()
	pcm := make([]int16, c.SampleRate()/50)
	payload := make([]byte, 160)
	n, _ := enc.Encode(payload, pcm)
	out := make([]int16, 2*n)
	m, _ := dec.Decode(out, payload[:n])
	fmt.Println(len(pcm), "samples ->", n, "octets ->", m, "samples; timestamp step", c.ClockRate()/50)
	// Output: 320 samples -> 160 octets -> 320 samples; timestamp step 160
}
