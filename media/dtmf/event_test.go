package dtmf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    Event
		wantErr error
	}{
		// Payloads from /usr/share/sip-tester/dtmf_2833_1.pcap.
		{"sipp start", "010a0000", Event{Code: 1, Volume: 10}, nil},
		{"sipp update", "010a0280", Event{Code: 1, Volume: 10, Duration: 640}, nil},
		{"sipp end", "018a08c0", Event{Code: 1, End: true, Volume: 10, Duration: 2240}, nil},
		{"star", "0a8a0320", Event{Code: CodeStar, End: true, Volume: 10, Duration: 800}, nil},
		{"pound", "0b000000", Event{Code: CodePound}, nil},
		{"D", "0f3fffff", Event{Code: CodeD, Volume: 63, Duration: 0xffff}, nil},
		{"flash", "10800640", Event{Code: CodeFlash, End: true, Duration: 1600}, nil},
		{"R bit ignored", "05ca0140", Event{Code: 5, End: true, Volume: 10, Duration: 320}, nil},
		{"R bit alone", "05400000", Event{Code: 5}, nil},
		{"extra octets ignored", "070a00a0 deadbeef", Event{Code: 7, Volume: 10, Duration: 160}, nil},
		{"RFC 4734 tone", "208a0000", Event{Code: 32, End: true, Volume: 10}, ErrUnknownEvent},
		{"code 17", "11000000", Event{Code: 17}, ErrUnknownEvent},
		{"code 255", "ffffffff", Event{Code: 255, End: true, Volume: 63, Duration: 0xffff}, ErrUnknownEvent},
		{"empty", "", Event{}, ErrShortPayload},
		{"3 octets", "010a00", Event{}, ErrShortPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(stripSpaces(tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseEvent(b)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

func TestEventMarshalTo(t *testing.T) {
	for _, e := range []Event{
		{},
		{Code: 1, Volume: 10, Duration: 160},
		{Code: CodePound, End: true, Volume: 63, Duration: 0xffff},
		{Code: CodeFlash, End: true, Duration: 1600},
		{Code: 200, Volume: 1}, // not named here, still writable
	} {
		var b [EventSize + 1]byte
		n, err := e.MarshalTo(b[:])
		if err != nil || n != EventSize {
			t.Fatalf("MarshalTo(%+v) = %d, %v", e, n, err)
		}
		if b[1]&0x40 != 0 {
			t.Errorf("%+v: R bit set", e)
		}
		got, err := ParseEvent(b[:n])
		if e.Code <= CodeFlash && err != nil {
			t.Fatalf("ParseEvent: %v", err)
		}
		if got != e {
			t.Errorf("round trip: got %+v, want %+v", got, e)
		}
	}
	want := []byte{0x01, 0x8a, 0x08, 0xc0}
	var b [4]byte
	if _, err := (Event{Code: 1, End: true, Volume: 10, Duration: 2240}).MarshalTo(b[:]); err != nil || !bytes.Equal(b[:], want) {
		t.Errorf("MarshalTo = %x, %v; want %x (SIPp's end packet)", b, err, want)
	}
}

func TestEventMarshalToErrors(t *testing.T) {
	b := []byte{0xee, 0xee, 0xee, 0xee}
	if n, err := (Event{Volume: 64}).MarshalTo(b); !errors.Is(err, ErrBadVolume) || n != 0 {
		t.Errorf("volume 64: %d, %v", n, err)
	}
	if n, err := (Event{}).MarshalTo(b[:3]); !errors.Is(err, ErrShortBuffer) || n != 0 {
		t.Errorf("3-octet buffer: %d, %v", n, err)
	}
	if !bytes.Equal(b, []byte{0xee, 0xee, 0xee, 0xee}) {
		t.Errorf("written on error: %x", b)
	}
	if !errors.Is(ErrShortBuffer, io.ErrShortBuffer) {
		t.Error("ErrShortBuffer does not wrap io.ErrShortBuffer")
	}
}

func TestDigitCodeMapping(t *testing.T) {
	const digits = "0123456789*#ABCD"
	for code := range 256 {
		d, ok := DigitFromCode(uint8(code))
		if code < len(digits) {
			if !ok || d != digits[code] {
				t.Errorf("DigitFromCode(%d) = %q, %v; want %q", code, d, ok, digits[code])
			}
		} else if ok {
			t.Errorf("DigitFromCode(%d) = %q, want none", code, d)
		}
	}
	for c := range 256 {
		d := byte(c)
		code, ok := CodeFromDigit(d)
		i := bytes.IndexByte([]byte(digits), d)
		if d >= 'a' && d <= 'd' {
			i = int(d-'a') + 12
		}
		if i >= 0 {
			if !ok || int(code) != i {
				t.Errorf("CodeFromDigit(%q) = %d, %v; want %d", d, code, ok, i)
			}
		} else if ok {
			t.Errorf("CodeFromDigit(%q) = %d, want none", d, code)
		}
	}
}
