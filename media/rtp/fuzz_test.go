package rtp

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzUnmarshal feeds arbitrary datagrams to Unmarshal. Beyond not panicking
// it checks that a successful parse returns a payload inside buf, after the
// headers and before the padding, and that headers MarshalTo can express are
// written back octet for octet. Seeds live in testdata/fuzz/FuzzUnmarshal.
func FuzzUnmarshal(f *testing.F) {
	for _, tc := range knownPackets {
		f.Add(mustHex(f, tc.hex))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		orig := bytes.Clone(buf)
		var h Header
		payload, err := h.Unmarshal(buf)
		if !bytes.Equal(buf, orig) {
			t.Fatal("Unmarshal modified its input")
		}
		if err != nil {
			if payload != nil {
				t.Fatalf("payload %x with error %v", payload, err)
			}
			return
		}
		// Locate the payload independently of Unmarshal and check that
		// the returned slice is exactly that region of buf.
		start := HeaderSize + 4*int(h.CSRCCount)
		if h.Extension {
			start += 4 + 4*int(binary.BigEndian.Uint16(buf[start+2:]))
		}
		end := len(buf)
		if h.Padding {
			end -= int(buf[len(buf)-1])
		}
		if start > end || len(payload) != end-start {
			t.Fatalf("payload %d octets, want buf[%d:%d]", len(payload), start, end)
		}
		if len(payload) > 0 && &payload[0] != &buf[start] {
			t.Fatalf("payload does not alias buf[%d:]", start)
		}
		if h.Version != Version || h.PayloadType > 127 || h.CSRCCount > 15 {
			t.Fatalf("impossible header %+v", h)
		}
		if h.CSRCCount == 0 && !h.Extension {
			var out [HeaderSize]byte
			if _, err := h.MarshalTo(out[:]); err != nil {
				t.Fatalf("MarshalTo(%+v): %v", h, err)
			}
			if !bytes.Equal(out[:], buf[:HeaderSize]) {
				t.Fatalf("MarshalTo = %x, input header %x", out, buf[:HeaderSize])
			}
		}
	})
}
