package sdp

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"testing"
)

// fuzzCfg accepts a wide range so that fuzzed offers reach Answer.
var fuzzCfg = Config{
	TelephoneEvent: true,
	Codecs: []Capability{
		{Name: "opus", ClockRate: 48000, Channels: 2, PT: -1},
		{Name: "G722", ClockRate: 8000, PT: 9},
		{Name: "PCMU", ClockRate: 8000, PT: 0},
		{Name: "PCMA", ClockRate: 8000, PT: 8},
	},
	Protos: []string{"RTP/AVP", "RTP/AVPF", "RTP/SAVP", "UDP/TLS/RTP/SAVPF"},
}

// FuzzParse checks that Parse never panics, that whatever it accepts
// marshals to a body that parses back to an equal Session, and that the
// functions consuming a parsed offer never panic and produce an answer
// that parses and negotiates back to the same codec.
//
// Seeds: testdata/offers (also in testdata/fuzz/FuzzParse, with
// malformed variants).
func FuzzParse(f *testing.F) {
	for _, file := range offerFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(crlf(b))
	}
	local := netip.MustParseAddrPort("198.51.100.9:30000")
	f.Fuzz(func(t *testing.T, body []byte) {
		s1, err := Parse(body)
		if err != nil {
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError wrapping ErrMalformed", err)
			}
			return
		}
		out := s1.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(x)) failed: %v\ninput:\n%q\nmarshalled:\n%q", err, body, out)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("round trip changed the session\ninput:\n%q\nfirst:  %#v\nsecond: %#v", body, s1, s2)
		}
		if again := s2.Marshal(); !bytes.Equal(out, again) {
			t.Fatalf("Marshal not stable:\n%q\n%q", out, again)
		}

		for i := range s1.Media {
			m := &s1.Media[i]
			m.RTPFormats()
			m.Ptime()
			m.MaxPtime()
			s1.MediaDirection(m)
			_, _ = s1.AudioAddr(m)
			_, _ = s1.RTCPAddr(m)
		}
		n, err := Negotiate(s1, fuzzCfg)
		if err != nil {
			var ne *NegotiationError
			if !errors.As(err, &ne) {
				t.Fatalf("Negotiate error %T %v is not a *NegotiationError", err, err)
			}
			return
		}
		ans := Answer(s1, n, local, ourO)
		reAns, err := Parse(ans.Marshal())
		if err != nil {
			t.Fatalf("answer does not parse: %v\noffer:\n%q\nanswer:\n%s", err, body, ans)
		}
		back, err := NegotiateAnswer(s1, reAns, fuzzCfg)
		if err != nil {
			t.Fatalf("our own answer does not negotiate: %v\noffer:\n%q\nanswer:\n%s", err, body, ans)
		}
		if back.Codec != n.Codec || back.MediaIndex != n.MediaIndex || (back.DTMF == nil) != (n.DTMF == nil) {
			t.Fatalf("answer negotiates to %+v, offer to %+v\noffer:\n%q", back, n, body)
		}
	})
}
