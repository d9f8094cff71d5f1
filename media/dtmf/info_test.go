package dtmf

import (
	"errors"
	"testing"
	"time"
)

func TestParseInfo(t *testing.T) {
	const relay = "application/dtmf-relay"
	tests := []struct {
		name  string
		ct    string
		body  string
		digit byte
		dur   time.Duration
		err   error
	}{
		{"Cisco form", relay, "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, nil},
		{"bare LF", relay, "Signal=1\nDuration=250\n", '1', 250 * time.Millisecond, nil},
		{"no final newline", relay, "Signal=2\r\nDuration=100", '2', 100 * time.Millisecond, nil},
		{"keys any case", relay, "SIGNAL=3\r\nduration=80\r\n", '3', 80 * time.Millisecond, nil},
		{"spaces everywhere", relay, "  Signal = 4 \r\n Duration =  200 \r\n", '4', 200 * time.Millisecond, nil},
		{"tabs", relay, "Signal\t=\t6\r\n", '6', 0, nil},
		{"star char", relay, "Signal=*\r\nDuration=160\r\n", '*', 160 * time.Millisecond, nil},
		{"pound char", relay, "Signal=#\r\nDuration=160\r\n", '#', 160 * time.Millisecond, nil},
		{"star as 10", relay, "Signal=10\r\nDuration=160\r\n", '*', 160 * time.Millisecond, nil},
		{"pound as 11", relay, "Signal=11\r\nDuration=160\r\n", '#', 160 * time.Millisecond, nil},
		{"A as 12", relay, "Signal=12\r\n", 'A', 0, nil},
		{"D as 15", relay, "Signal=15\r\n", 'D', 0, nil},
		{"lower-case b", relay, "Signal=b\r\n", 'B', 0, nil},
		{"duration first", relay, "Duration=300\r\nSignal=7\r\n", '7', 300 * time.Millisecond, nil},
		{"duration missing", relay, "Signal=8\r\n", '8', 0, nil},
		{"duration malformed", relay, "Signal=8\r\nDuration=abc\r\n", '8', 0, nil},
		{"duration with unit", relay, "Signal=8\r\nDuration=160ms\r\n", '8', 0, nil},
		{"duration negative", relay, "Signal=8\r\nDuration=-5\r\n", '8', 0, nil},
		{"duration too long", relay, "Signal=8\r\nDuration=99999999999999999999\r\n", '8', 0, nil},
		{"unknown keys ignored", relay, "Volume=10\r\nSignal=9\r\nFoo\r\n\r\nDuration=40\r\n", '9', 40 * time.Millisecond, nil},
		{"first Signal wins", relay, "Signal=1\r\nSignal=2\r\n", '1', 0, nil},
		{"content type upper case", "Application/DTMF-Relay", "Signal=0\r\n", '0', 0, nil},
		{"content type parameters", "application/dtmf-relay; charset=utf-8", "Signal=0\r\n", '0', 0, nil},
		{"content type padded", "  application/dtmf-relay ;x=y", "Signal=0\r\n", '0', 0, nil},
		{"no Signal", relay, "Duration=160\r\n", 0, 0, ErrBadBody},
		{"empty body", relay, "", 0, 0, ErrBadBody},
		{"empty Signal", relay, "Signal=\r\nDuration=160\r\n", 0, 0, ErrBadBody},
		{"flash as 16", relay, "Signal=16\r\n", 0, 0, ErrUnknownEvent},
		{"flash as !", relay, "Signal=!\r\n", 0, 0, ErrUnknownEvent},
		{"Signal E", relay, "Signal=E\r\n", 0, 0, ErrUnknownEvent},
		{"Signal two digits", relay, "Signal=55\r\n", 0, 0, ErrUnknownEvent},
		{"Signal word", relay, "Signal=five\r\n", 0, 0, ErrUnknownEvent},
		{"colon instead of =", relay, "Signal: 5\r\n", 0, 0, ErrBadBody},
		{"application/dtmf", "application/dtmf", "5", '5', 0, nil},
		{"application/dtmf padded", "application/DTMF", " #\r\n", '#', 0, nil},
		{"application/dtmf code", "application/dtmf", "11", '#', 0, nil},
		{"application/dtmf empty", "application/dtmf", "", 0, 0, ErrBadBody},
		{"application/dtmf junk", "application/dtmf", "xyz", 0, 0, ErrUnknownEvent},
		{"SDP", "application/sdp", "v=0\r\n", 0, 0, ErrUnsupportedType},
		{"text/plain", "text/plain", "Signal=5", 0, 0, ErrUnsupportedType},
		{"prefix only", "application/dtmf-relayx", "Signal=5", 0, 0, ErrUnsupportedType},
		{"empty type", "", "Signal=5", 0, 0, ErrUnsupportedType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			digit, dur, err := ParseInfo(tc.ct, []byte(tc.body))
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if digit != tc.digit || dur != tc.dur {
				t.Errorf("got %q %v, want %q %v", digit, dur, tc.digit, tc.dur)
			}
		})
	}
}

func TestFormatInfo(t *testing.T) {
	tests := []struct {
		digit byte
		dur   time.Duration
		body  string
	}{
		{'5', 160 * time.Millisecond, "Signal=5\r\nDuration=160\r\n"},
		{'*', 250 * time.Millisecond, "Signal=*\r\nDuration=250\r\n"},
		{'#', 0, "Signal=#\r\nDuration=0\r\n"},
		{'c', 1999 * time.Microsecond, "Signal=C\r\nDuration=1\r\n"},
		{'0', time.Hour, "Signal=0\r\nDuration=3600000\r\n"},
	}
	for _, tc := range tests {
		ct, body, err := FormatInfo(tc.digit, tc.dur)
		if err != nil || ct != ContentTypeDTMFRelay || string(body) != tc.body {
			t.Errorf("FormatInfo(%q, %v) = %q, %q, %v; want %q", tc.digit, tc.dur, ct, body, err, tc.body)
		}
		d, dur, err := ParseInfo(ct, body)
		if err != nil || dur != tc.dur.Truncate(time.Millisecond) {
			t.Errorf("ParseInfo(FormatInfo(%q)) = %q, %v, %v", tc.digit, d, dur, err)
		}
	}
	for _, bad := range []struct {
		digit byte
		dur   time.Duration
		err   error
	}{
		{'x', time.Second, ErrUnknownEvent},
		{'!', time.Second, ErrUnknownEvent},
		{'5', -time.Millisecond, ErrBadDuration},
		{'5', time.Hour + 1, ErrBadDuration},
	} {
		if ct, body, err := FormatInfo(bad.digit, bad.dur); !errors.Is(err, bad.err) || ct != "" || body != nil {
			t.Errorf("FormatInfo(%q, %v) = %q, %q, %v; want error %v", bad.digit, bad.dur, ct, body, err, bad.err)
		}
	}
}
