package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// mustHex decodes a hex string, ignoring spaces, for readable packet literals.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// knownPackets are hand-assembled or captured packets with their expected
// header, header length (fixed + CSRC + extension) and payload.
var knownPackets = []struct {
	name      string
	hex       string
	want      Header
	headerLen int
	payload   string
}{
	{
		// First packet of digit 1 in /usr/share/sip-tester/dtmf_2833_1.pcap.
		name: "sipp telephone-event start",
		hex:  "80e51f30 000033e0 0e05384e 010a0000",
		want: Header{Version: 2, Marker: true, PayloadType: 101, SequenceNumber: 7984,
			Timestamp: 13280, SSRC: 0x0e05384e},
		headerLen: 12,
		payload:   "010a0000",
	},
	{
		name: "PCMU no marker",
		hex:  "8000ffff fffffffe 12345678 d5d5d5d5",
		want: Header{Version: 2, PayloadType: 0, SequenceNumber: 65535,
			Timestamp: 0xfffffffe, SSRC: 0x12345678},
		headerLen: 12,
		payload:   "d5d5d5d5",
	},
	{
		name: "two CSRCs",
		hex:  "82080001 00000a00 cafebabe 11111111 22222222 aabbcc",
		want: Header{Version: 2, PayloadType: 8, SequenceNumber: 1, Timestamp: 2560,
			SSRC: 0xcafebabe, CSRCCount: 2},
		headerLen: 20,
		payload:   "aabbcc",
	},
	{
		// RFC 8285 one-byte extension (profile 0xBEDE), one word of
		// elements: an RFC 6464 audio level element.
		name: "extension",
		hex:  "90890002 000000a0 00000001 bede0001 10aa0000 0102",
		want: Header{Version: 2, Extension: true, Marker: true, PayloadType: 9,
			SequenceNumber: 2, Timestamp: 160, SSRC: 1, ExtensionProfile: 0xbede},
		headerLen: 20,
		payload:   "0102",
	},
	{
		name: "extension with zero length",
		hex:  "90000003 00000000 00000002 10000000 ff",
		want: Header{Version: 2, Extension: true, SequenceNumber: 3, SSRC: 2,
			ExtensionProfile: 0x1000},
		headerLen: 16,
		payload:   "ff",
	},
	{
		name:      "padding",
		hex:       "a0000004 00000140 00000003 01020304 00000004",
		want:      Header{Version: 2, Padding: true, SequenceNumber: 4, Timestamp: 320, SSRC: 3},
		headerLen: 12,
		payload:   "01020304",
	},
	{
		name:      "padding is the whole payload",
		hex:       "a0000005 00000000 00000004 000003",
		want:      Header{Version: 2, Padding: true, SequenceNumber: 5, SSRC: 4},
		headerLen: 12,
		payload:   "",
	},
	{
		name: "everything: padding, extension, CSRC, marker",
		hex:  "b1e50006 00001000 00000005 eeeeeeee 01000002 01020304 05060708 99 0002",
		want: Header{Version: 2, Padding: true, Extension: true, Marker: true,
			PayloadType: 101, SequenceNumber: 6, Timestamp: 4096, SSRC: 5, CSRCCount: 1,
			ExtensionProfile: 0x0100},
		headerLen: 28,
		payload:   "99",
	},
	{
		name:      "header only",
		hex:       "80000007 00000000 00000006",
		want:      Header{Version: 2, SequenceNumber: 7, SSRC: 6},
		headerLen: 12,
		payload:   "",
	},
}

func TestUnmarshalKnownPackets(t *testing.T) {
	for _, tc := range knownPackets {
		t.Run(tc.name, func(t *testing.T) {
			buf := mustHex(t, tc.hex)
			var h Header
			payload, err := h.Unmarshal(buf)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if h != tc.want {
				t.Errorf("header\n got %+v\nwant %+v", h, tc.want)
			}
			if want := mustHex(t, tc.payload); !bytes.Equal(payload, want) {
				t.Errorf("payload = %x, want %x", payload, want)
			}
			if cap(payload) != len(payload) {
				t.Errorf("payload cap %d > len %d: appending would clobber padding", cap(payload), len(payload))
			}
			// The payload must alias buf, not be a copy.
			if len(payload) > 0 && &payload[0] != &buf[tc.headerLen] {
				t.Errorf("payload does not alias buf at offset %d", tc.headerLen)
			}
		})
	}
}

// TestUnmarshalTruncated cuts every known packet at every length: shorter than
// its headers must fail with the error for the part that is cut, and longer
// (for unpadded packets) must succeed with a shorter payload.
func TestUnmarshalTruncated(t *testing.T) {
	for _, tc := range knownPackets {
		t.Run(tc.name, func(t *testing.T) {
			full := mustHex(t, tc.hex)
			csrcEnd := HeaderSize + 4*int(tc.want.CSRCCount)
			for n := 0; n < len(full); n++ {
				buf := full[:n:n]
				h := Header{SSRC: 0xdeadbeef}
				payload, err := h.Unmarshal(buf)
				switch {
				case n < csrcEnd:
					if !errors.Is(err, ErrShortPacket) {
						t.Errorf("len %d: err = %v, want ErrShortPacket", n, err)
					}
				case n < tc.headerLen:
					if !errors.Is(err, ErrBadExtension) {
						t.Errorf("len %d: err = %v, want ErrBadExtension", n, err)
					}
				case !tc.want.Padding:
					if err != nil {
						t.Errorf("len %d: unexpected error %v", n, err)
					} else if !bytes.Equal(payload, full[tc.headerLen:n]) {
						t.Errorf("len %d: payload %x, want %x", n, payload, full[tc.headerLen:n])
					}
				default:
					// The padding count is now some other octet:
					// any outcome but a panic or an out-of-range
					// payload is acceptable.
					if err == nil && len(payload) > n-tc.headerLen {
						t.Errorf("len %d: payload %d octets exceeds data", n, len(payload))
					}
				}
				if err != nil {
					if payload != nil {
						t.Errorf("len %d: payload %x returned with error", n, payload)
					}
					if h.SSRC != 0xdeadbeef {
						t.Errorf("len %d: header modified on error", n)
					}
				}
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrShortPacket},
		{"11 octets", "80000000 00000000 000000", ErrShortPacket},
		{"version 0", "00000000 00000000 00000000", ErrBadVersion},
		{"version 1", "40000000 00000000 00000000", ErrBadVersion},
		{"version 3", "c0000000 00000000 00000000", ErrBadVersion},
		{"STUN binding request", "00010000 2112a442 00000000 00000000 00000000", ErrBadVersion},
		{"CC=15 without CSRCs", "8f000000 00000000 00000000 00000000", ErrShortPacket},
		{"extension header missing", "90000000 00000000 00000000", ErrBadExtension},
		{"extension length too long", "90000000 00000000 00000000 bede0002 00000000", ErrBadExtension},
		{"extension length 0xffff", "90000000 00000000 00000000 bedeffff", ErrBadExtension},
		{"padding larger than payload", "a0000000 00000000 00000000 010205", ErrBadPadding},
		{"padding count zero", "a0000000 00000000 00000000 01020300", ErrBadPadding},
		{"padding with no payload", "a0000000 00000000 00000001", ErrBadPadding},
		{"padding with no payload, count 0", "a0000000 00000000 00000000", ErrBadPadding},
		{"padding reaching into extension", "b0000000 00000000 00000000 bede0000 0206", ErrBadPadding},
		{"padding reaching into CSRC", "a1000000 00000000 00000000 00000000 0205", ErrBadPadding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := Header{PayloadType: 42}
			h := want
			payload, err := h.Unmarshal(mustHex(t, tc.hex))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if payload != nil || h != want {
				t.Errorf("on error got payload %x and header %+v; want nil and unchanged", payload, h)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	headers := []Header{
		{},
		{Version: 2, Marker: true, PayloadType: 101, SequenceNumber: 65535, Timestamp: 0xffffffff, SSRC: 0xffffffff},
		{PayloadType: 127, SequenceNumber: 1, Timestamp: 160, SSRC: 0x01020304},
		{Marker: true, PayloadType: 0},
	}
	for _, h := range headers {
		buf := make([]byte, HeaderSize+3)
		copy(buf[HeaderSize:], "abc")
		n, err := h.MarshalTo(buf)
		if err != nil || n != HeaderSize {
			t.Fatalf("MarshalTo(%+v) = %d, %v", h, n, err)
		}
		var got Header
		payload, err := got.Unmarshal(buf)
		if err != nil {
			t.Fatalf("Unmarshal after MarshalTo(%+v): %v", h, err)
		}
		want := h
		want.Version = Version
		if got != want {
			t.Errorf("round trip\n got %+v\nwant %+v", got, want)
		}
		if string(payload) != "abc" {
			t.Errorf("payload %q, want abc", payload)
		}
	}
}

func TestMarshalKnownBytes(t *testing.T) {
	for _, tc := range knownPackets {
		if tc.want.CSRCCount != 0 || tc.want.Extension {
			continue
		}
		full := mustHex(t, tc.hex)
		var buf [HeaderSize]byte
		if _, err := tc.want.MarshalTo(buf[:]); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(buf[:], full[:HeaderSize]) {
			t.Errorf("%s: MarshalTo = %x, want %x", tc.name, buf, full[:HeaderSize])
		}
	}
}

func TestMarshalPaddingBit(t *testing.T) {
	h := Header{Padding: true, PayloadType: 8}
	pkt := make([]byte, HeaderSize, HeaderSize+4)
	if _, err := h.MarshalTo(pkt); err != nil {
		t.Fatal(err)
	}
	pkt = append(pkt, 0x55, 0, 0, 3) // one payload octet, three of padding
	var got Header
	payload, err := got.Unmarshal(pkt)
	if err != nil || !got.Padding || !bytes.Equal(payload, []byte{0x55}) {
		t.Fatalf("got %+v %x %v", got, payload, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		size int
		want error
	}{
		{"short buffer", Header{}, HeaderSize - 1, ErrShortBuffer},
		{"nil buffer", Header{}, 0, ErrShortBuffer},
		{"payload type 128", Header{PayloadType: 128}, HeaderSize, ErrBadHeader},
		{"version 1", Header{Version: 1}, HeaderSize, ErrBadHeader},
		{"version 3", Header{Version: 3}, HeaderSize, ErrBadHeader},
		{"CSRCs", Header{CSRCCount: 1}, HeaderSize, ErrBadHeader},
		{"extension", Header{Extension: true}, HeaderSize, ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Repeat([]byte{0xee}, tc.size)
			n, err := tc.h.MarshalTo(buf)
			if !errors.Is(err, tc.want) || n != 0 {
				t.Fatalf("MarshalTo = %d, %v; want 0, %v", n, err, tc.want)
			}
			if !bytes.Equal(buf, bytes.Repeat([]byte{0xee}, tc.size)) {
				t.Errorf("buffer written on error: %x", buf)
			}
		})
	}
	if !errors.Is(ErrShortBuffer, io.ErrShortBuffer) {
		t.Error("ErrShortBuffer does not wrap io.ErrShortBuffer")
	}
}
