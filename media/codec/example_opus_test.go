//go:build cgo

package codec_test

import (
	"fmt"

	"github.com/hotline-ivr/hotline/media/codec"
)

// These examples need libopus, so cgo.

// The default offer lists every codec, best first; G.722's rtpmap clock
// rate is 8000 although it samples at 16 kHz.
func ExampleAll() {
	for _, c := range codec.All() {
		pt := "dynamic"
		if c.StaticPayloadType() >= 0 {
			pt = fmt.Sprint(c.StaticPayloadType())
		}
		fmt.Printf("%-7s %v, PCM at %d Hz\n", pt, c, c.SampleRate())
	}
	// Output:
	// dynamic opus/48000/2, PCM at 48000 Hz
	// 9       G722/8000, PCM at 16000 Hz
	// 0       PCMU/8000, PCM at 8000 Hz
	// 8       PCMA/8000, PCM at 8000 Hz
}

// A configured preference list; names are case-insensitive and mistakes
// are reported with the names that would work.
func ExampleByNames() {
	cs, err := codec.ByNames([]string{"g722", "PCMA"})
	fmt.Println(cs, err)
	_, err = codec.ByNames([]string{"PCMU", "G729"})
	fmt.Println(err)
	// Output:
	// [G722/8000 PCMA/8000] <nil>
	// codec: unknown codec "G729" at position 2 (known: opus, G722, PCMU, PCMA)
}

// One call leg's Opus path: encode 20 ms, decode it into a buffer that
// holds any packet (120 ms), then recover a lost frame from the in-band FEC
// of the packet after it, or conceal it when there is no next packet yet.
func ExampleNewOpus() {
	c := codec.NewOpus(codec.OpusOptions{Bitrate: 32000})
	enc, err := c.NewEncoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := c.NewDecoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	pcm := make([]int16, 960) // 20 ms at 48 kHz
	payload := make([]byte, 1275)
	n, err := enc.Encode(payload, pcm)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]int16, codec.OpusMaxFrameSamples)
	m, err := dec.Decode(out, payload[:n])
	fmt.Println("decoded", m, err)

	if fec, ok := dec.(codec.FECDecoder); ok {
		m, err = fec.DecodeFEC(out[:960], payload[:n])
		fmt.Println("recovered", m, err)
	}
	if plc, ok := dec.(codec.Concealer); ok {
		m, err = plc.Conceal(out[:960])
		fmt.Println("concealed", m, err)
	}
	// Output:
	// decoded 960 <nil>
	// recovered 960 <nil>
	// concealed 960 <nil>
}
