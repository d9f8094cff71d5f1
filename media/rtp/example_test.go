package rtp_test

import (
	"fmt"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// A receive loop keeps one Header per stream and parses every datagram into
// it; the payload aliases the datagram buffer.
func ExampleHeader_Unmarshal() {
	datagram := []byte{
		0x80, 0xe5, 0x1f, 0x30, // V=2, M=1, PT=101, seq 7984
		0x00, 0x00, 0x33, 0xe0, // timestamp 13280
		0x0e, 0x05, 0x38, 0x4e, // SSRC
		0x01, 0x0a, 0x00, 0xa0, // telephone-event payload: digit 1
	}
	if rtp.IsRTCP(datagram) {
		return // hand to the RTCP parser
	}
	var h rtp.Header
	payload, err := h.Unmarshal(datagram)
	if err != nil {
		fmt.Println("drop:", err)
		return
	}
	fmt.Printf("PT %d seq %d ts %d marker %v payload % x\n",
		h.PayloadType, h.SequenceNumber, h.Timestamp, h.Marker, payload)
	// Output: PT 101 seq 7984 ts 13280 marker true payload 01 0a 00 a0
}

// A sender keeps one buffer per stream: header first, payload after it.
func ExampleHeader_MarshalTo() {
	buf := make([]byte, 1500)
	h := rtp.Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0x1234}
	n, err := h.MarshalTo(buf)
	if err != nil {
		panic(err) // example only: library code returns errors
	}
	n += copy(buf[n:], []byte{0xff, 0xff}) // payload
	fmt.Printf("% x\n", buf[:n])
	// Output: 80 00 00 01 00 00 00 a0 00 00 12 34 ff ff
}

func ExampleSeqDiff() {
	last := uint16(65534)
	for _, seq := range []uint16{65535, 2, 1} {
		fmt.Println(seq, rtp.SeqDiff(last, seq))
		if rtp.SeqLess(last, seq) {
			last = seq
		}
	}
	// Output:
	// 65535 1
	// 2 3
	// 1 -1
}
