package sdp

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTripRealWorldOffers(t *testing.T) {
	for _, file := range offerFiles(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".sdp")
		t.Run(name, func(t *testing.T) {
			body := loadOffer(t, name)
			s1, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			out := s1.Marshal()
			s2, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(s1, s2) {
				t.Errorf("round trip changed the session:\n%#v\n%#v", s1, s2)
			}
			if !bytes.Equal(out, s2.Marshal()) {
				t.Error("Marshal is not stable")
			}
			if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("output does not use CRLF line endings throughout")
			}
		})
	}
}

// Real offers are already in canonical order, so Marshal reproduces them
// byte for byte except where the canonical form differs (none here).
func TestMarshalReproducesCanonicalOffers(t *testing.T) {
	for _, name := range []string{"sipp_uac", "baresip", "asterisk", "chrome_webrtc", "rfc4566_multicast"} {
		t.Run(name, func(t *testing.T) {
			body := loadOffer(t, name)
			s, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Marshal(); !bytes.Equal(got, body) {
				t.Errorf("Marshal =\n%s\nwant\n%s", got, body)
			}
		})
	}
}

func TestMarshalCanonicalOrder(t *testing.T) {
	// t= before c= in the input (seen in the wild); Marshal reorders.
	s := mustParse(t, "v=0\no=carol 1 2 IN IP4 192.0.2.4\ns=\nt=0 0\na=tool:x\nb=AS:64\nc=IN IP4 192.0.2.4\n"+
		"m=audio 53000 RTP/AVP 0\na=sendrecv\nb=TIAS:64000\nc=IN IP4 192.0.2.5\ni=voice\n")
	want := "v=0\r\no=carol 1 2 IN IP4 192.0.2.4\r\ns= \r\nc=IN IP4 192.0.2.4\r\nb=AS:64\r\nt=0 0\r\na=tool:x\r\n" +
		"m=audio 53000 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.5\r\nb=TIAS:64000\r\na=sendrecv\r\n"
	if got := s.String(); got != want {
		t.Errorf("Marshal =\n%q\nwant\n%q", got, want)
	}
}

func TestMarshalCannotInjectLines(t *testing.T) {
	s := &Session{
		Origin:     Origin{SessionID: 1, SessionVersion: 1},
		Name:       "x\r\na=injected",
		Attributes: Attributes{{Key: "tool", Value: "evil\nm=video 1 RTP/AVP 0"}},
		Media:      []Media{{Type: "audio", Port: 4000, Proto: "RTP/AVP", Formats: []string{"0"}}},
	}
	out := s.Marshal()
	got, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal) = %v\n%s", err, out)
	}
	if len(got.Media) != 1 || len(got.Attributes) != 1 || got.Name != "xa=injected" {
		t.Errorf("injection survived:\n%s", out)
	}
	// Empty tokens become "-" so the o= line keeps its six fields.
	if got.Origin.Username != "-" || got.Origin.NetType != "-" {
		t.Errorf("origin = %#v", got.Origin)
	}
	if len(got.Times) != 1 {
		t.Errorf("missing t= not defaulted: %#v", got.Times)
	}
}

func TestMarshalNil(t *testing.T) {
	var s *Session
	if s.Marshal() != nil || string(s.AppendTo([]byte("x"))) != "x" {
		t.Error("nil session marshalled to something")
	}
}

func TestAppendToReusesBuffer(t *testing.T) {
	s := mustParse(t, string(loadOffer(t, "asterisk")))
	buf := make([]byte, 0, 1024)
	buf = append(buf, "INVITE ...\r\n\r\n"...)
	out := s.AppendTo(buf)
	if &out[0] != &buf[:1][0] {
		t.Error("AppendTo reallocated a large enough buffer")
	}
	if !bytes.Equal(out[len("INVITE ...\r\n\r\n"):], s.Marshal()) {
		t.Error("AppendTo and Marshal differ")
	}
}
