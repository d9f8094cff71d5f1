package codec_test

import (
	"fmt"

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
