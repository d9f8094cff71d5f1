package rtp

import "testing"

// pcmuPacket is a typical 20 ms G.711 packet: 12-octet header, 160 octets.
func pcmuPacket() []byte {
	buf := make([]byte, HeaderSize+160)
	h := Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0x1234}
	if _, err := h.MarshalTo(buf); err != nil {
		panic(err)
	}
	return buf
}

func BenchmarkUnmarshal(b *testing.B) {
	cases := []struct {
		name string
		buf  []byte
	}{
		{"pcmu", pcmuPacket()},
		{"csrc+ext+padding", mustHex(b, "b1e50006 00001000 00000005 eeeeeeee 01000002 01020304 05060708 99 0002")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var h Header
			b.ReportAllocs()
			b.SetBytes(int64(len(c.buf)))
			for b.Loop() {
				if _, err := h.Unmarshal(c.buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshalTo(b *testing.B) {
	buf := make([]byte, 1500)
	h := Header{PayloadType: 0, SSRC: 0x1234}
	b.ReportAllocs()
	for b.Loop() {
		h.SequenceNumber++
		h.Timestamp += 160
		if _, err := h.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIsRTCP(b *testing.B) {
	buf := pcmuPacket()
	b.ReportAllocs()
	for b.Loop() {
		if IsRTCP(buf) {
			b.Fatal("RTP taken for RTCP")
		}
	}
}
