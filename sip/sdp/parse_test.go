package sdp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// offerFiles lists the real-world offers in testdata/offers.
func offerFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "offers", "*.sdp"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no offers in testdata: %v", err)
	}
	return files
}

// loadOffer reads testdata/offers/<name>.sdp with CRLF endings, as on the
// wire.
func loadOffer(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "offers", name+".sdp"))
	if err != nil {
		tb.Fatal(err)
	}
	return crlf(b)
}

func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func mustParse(tb testing.TB, body string) *Session {
	tb.Helper()
	s, err := Parse(crlf([]byte(body)))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, body)
	}
	return s
}

func TestParseRealWorldOffers(t *testing.T) {
	tests := []struct {
		file       string
		media      int
		firstType  string
		firstPort  int
		firstFmts  string
		sessConn   string // "" when no session-level c=
		attrsFirst int    // attributes of the first m= section
	}{
		{"sipp_uac", 1, "audio", 6000, "0", "127.0.0.1", 1},
		{"baresip", 1, "audio", 10118, "96 9 0 8 101", "192.168.10.23", 12},
		{"asterisk", 1, "audio", 14824, "8 0 3 101", "203.0.113.17", 8},
		{"freeswitch", 1, "audio", 27512, "0 8 9 18 96 101 13", "198.51.100.40", 13},
		{"cisco_g729_only", 1, "audio", 16434, "18 101", "10.20.30.40", 5},
		{"chrome_webrtc", 3, "audio", 51432, "111 63 9 0 8 13 110 126", "", 29},
		{"linphone_ipv6", 1, "audio", 7078, "96 97 98 0 8 101 99 100", "2001:db8:85a3::8a2e:370:7334", 11},
		{"multi_mline", 3, "video", 51372, "31 34", "192.0.2.201", 2},
		{"hold_sendonly", 1, "audio", 14824, "0 101", "203.0.113.17", 6},
		{"hold_rfc2543", 1, "audio", 18076, "0 8 101", "0.0.0.0", 5},
		{"inactive_session_level", 1, "audio", 2226, "9 0 8 18 127", "10.1.1.60", 6},
		{"rejected_port0", 3, "audio", 0, "0", "192.0.2.4", 1},
		{"rfc8866_example", 3, "audio", 49170, "0", "198.51.100.1", 0},
		{"rfc4566_multicast", 2, "audio", 49170, "0", "224.2.17.12/127", 0},
	}
	if len(tests) != len(offerFiles(t)) {
		t.Fatalf("table covers %d offers, testdata has %d", len(tests), len(offerFiles(t)))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := Parse(loadOffer(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Media) != tt.media {
				t.Fatalf("media = %d, want %d", len(s.Media), tt.media)
			}
			m := s.Media[0]
			if m.Type != tt.firstType || m.Port != tt.firstPort || strings.Join(m.Formats, " ") != tt.firstFmts {
				t.Errorf("m= = %s %d %v, want %s %d %s", m.Type, m.Port, m.Formats, tt.firstType, tt.firstPort, tt.firstFmts)
			}
			got := ""
			if s.Connection != nil {
				got = s.Connection.Address
			}
			if got != tt.sessConn {
				t.Errorf("session c= = %q, want %q", got, tt.sessConn)
			}
			if len(m.Attributes) != tt.attrsFirst {
				t.Errorf("first m= has %d attributes, want %d", len(m.Attributes), tt.attrsFirst)
			}
		})
	}
}

func TestParseAllFields(t *testing.T) {
	s, err := Parse(loadOffer(t, "rfc4566_multicast"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Session{
		Origin: Origin{Username: "jdoe", SessionID: 2890844526, SessionVersion: 2890842807,
			NetType: "IN", AddrType: "IP4", Address: "10.47.16.5"},
		Name:       "SDP Seminar",
		Info:       "A Seminar on the session description protocol",
		URI:        "http://www.example.com/seminars/sdp.pdf",
		Emails:     []string{"j.doe@example.com (Jane Doe)"},
		Connection: &Connection{NetType: "IN", AddrType: "IP4", Address: "224.2.17.12/127"},
		Bandwidths: []Bandwidth{{Type: "CT", Value: 128}},
		Times: []Time{{Start: 2873397496, Stop: 2873404696,
			Repeats: []string{"7d 1h 0 25h", "604800 3600 0 90000"}}},
		TimeZones:  "2882844526 -1h 2898848070 0",
		Key:        "prompt",
		Attributes: Attributes{{Key: "recvonly"}},
		Media: []Media{
			{Type: "audio", Port: 49170, NumPorts: 2, Proto: "RTP/AVP", Formats: []string{"0"},
				Info: "main audio", Bandwidths: []Bandwidth{{Type: "AS", Value: 64}}, Key: "clear:secret"},
			{Type: "video", Port: 51372, Proto: "RTP/AVP", Formats: []string{"99"},
				Attributes: Attributes{{Key: "rtpmap", Value: "99 h263-1998/90000"}}},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", s, want)
	}
}

func TestParseTolerance(t *testing.T) {
	base := "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=sendrecv\n"
	want, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
	}{
		{"crlf", strings.ReplaceAll(base, "\n", "\r\n")},
		{"no final newline", strings.TrimSuffix(base, "\n")},
		{"trailing whitespace", strings.ReplaceAll(base, "\n", " \t\r\n")},
		{"blank lines", "\r\n" + strings.ReplaceAll(base, "\n", "\n\n") + "\r\n\r\n"},
		{"runs of spaces", strings.Replace(base, "m=audio 4000 RTP/AVP 0", "m=audio  4000\tRTP/AVP   0", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestParseKeepsUnknownAttributes(t *testing.T) {
	s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\na=x-custom:some value: with colons\na=X-flag\n"+
		"m=audio 4000 RTP/AVP 0\na=msid-semantic: WMS\na=rtcp-fb:* ccm tmmbr\n")
	want := Attributes{{Key: "x-custom", Value: "some value: with colons"}, {Key: "X-flag"}}
	if !reflect.DeepEqual(s.Attributes, want) {
		t.Errorf("session attributes = %#v", s.Attributes)
	}
	if v, ok := s.Media[0].Attr("msid-semantic"); !ok || v != " WMS" {
		t.Errorf(`Attr("msid-semantic") = %q, %v`, v, ok)
	}
	if v, ok := s.Attr("X-flag"); !ok || v != "" {
		t.Errorf(`flag attribute = %q, %v`, v, ok)
	}
	if got := s.Media[0].Attributes.Values("rtcp-fb"); !reflect.DeepEqual(got, []string{"* ccm tmmbr"}) {
		t.Errorf("Values(rtcp-fb) = %q", got)
	}
}

func TestParseMalformed(t *testing.T) {
	const ok = "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
	tests := []struct {
		name   string
		body   string
		line   int
		reason string
	}{
		{"empty", "", 0, "empty description"},
		{"only blank lines", "\r\n\r\n", 0, "empty description"},
		{"missing v=", "o=- 1 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n", 1, "first line must be v=0"},
		{"v=1", "v=1\n" + ok[4:], 1, "unsupported protocol version"},
		{"duplicate v=", ok + "v=0\n", 6, "duplicate line"},
		{"missing o=", "v=0\ns=-\nt=0 0\n", 0, "missing o= line"},
		{"missing s=", "v=0\no=- 1 2 IN IP4 192.0.2.1\nt=0 0\n", 0, "missing s= line"},
		{"missing t=", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\n", 0, "missing t= line"},
		{"t= after m=", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nm=audio 4000 RTP/AVP 0\nt=0 0\n", 5, "session-level line after m="},
		{"duplicate o=", ok + "o=- 1 2 IN IP4 192.0.2.1\n", 6, "duplicate line"},
		{"duplicate session c=", ok + "c=IN IP4 192.0.2.2\n", 6, "duplicate line"},
		{"duplicate media c=", ok + "m=audio 4000 RTP/AVP 0\nc=IN IP4 192.0.2.2\nc=IN IP4 192.0.2.3\n", 8, "duplicate line"},
		{"unknown type", ok + "x=foo\n", 6, "unknown line type"},
		{"unknown type in media", ok + "m=audio 4000 RTP/AVP 0\ny=1\n", 7, "unknown line type"},
		{"no equals", ok + "garbage\n", 6, `expected "<type>=<value>"`},
		{"leading space", ok + " a=sendrecv\n", 6, `expected "<type>=<value>"`},
		{"empty attribute", ok + "a=\n", 6, "empty value"},
		{"bad attribute name", ok + "a=bad name:x\n", 6, "invalid attribute name"},
		{"o= too short", "v=0\no=- 1 2 IN IP4\ns=-\nt=0 0\n", 2, "o= needs 6 fields"},
		{"o= bad id", "v=0\no=- abc 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n", 2, "invalid session id"},
		{"o= negative version", "v=0\no=- 1 -2 IN IP4 192.0.2.1\ns=-\nt=0 0\n", 2, "invalid session version"},
		{"o= id overflow", "v=0\no=- 99999999999999999999 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n", 2, "invalid session id"},
		{"c= too short", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4\nt=0 0\n", 4, "c= needs 3 fields"},
		{"t= one field", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nt=0\n", 4, "t= needs 2 fields"},
		{"t= not numeric", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nt=now 0\n", 4, "invalid time"},
		{"r= without t=", "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nr=1 2 3\nt=0 0\n", 4, "r= must follow t="},
		{"b= no colon", ok + "b=AS\n", 6, "b= needs <type>:<value>"},
		{"b= bad value", ok + "b=AS:x\n", 6, "invalid bandwidth value"},
		{"m= too short", ok + "m=audio 4000\n", 6, "m= needs"},
		{"bad port", ok + "m=audio port RTP/AVP 0\n", 6, "invalid port"},
		{"port too large", ok + "m=audio 65536 RTP/AVP 0\n", 6, "invalid port"},
		{"negative port", ok + "m=audio -1 RTP/AVP 0\n", 6, "invalid port"},
		{"signed port", ok + "m=audio +4000 RTP/AVP 0\n", 6, "invalid port"},
		{"zero port count", ok + "m=audio 4000/0 RTP/AVP 0\n", 6, "invalid number of ports"},
		{"no formats", ok + "m=audio 4000 RTP/AVP\n", 6, "m= line without formats"},
		{"non-numeric PT", ok + "m=audio 4000 RTP/AVP 0 PCMA\n", 6, `invalid RTP payload type "PCMA"`},
		{"PT out of range", ok + "m=audio 4000 RTP/AVP 128\n", 6, `invalid RTP payload type "128"`},
		{"NUL byte", ok + "a=x\x00y\n", 6, "control character inside line"},
		{"bare CR", ok + "a=x\ry\n", 6, "control character inside line"},
		{"garbage bytes", "\xff\xfe\x00\x01binary", 1, "control character inside line"},
		{"binary without NUL", "\xff\xfe\x01binary\n", 1, `expected "<type>=<value>"`},
		{"truncated in t=", ok[:len(ok)-3], 5, "t= needs 2 fields"},
		{"truncated after s=", ok[:len(ok)-27], 0, "missing t= line"},
		{"truncated mid m=", ok + "m=aud", 6, "m= needs"},
		{"http body", "HTTP/1.1 200 OK\r\n\r\n", 1, `expected "<type>=<value>"`},
		{"other line first", "a=b\r\n", 1, "first line must be v=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", s)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tt.line || !strings.HasPrefix(pe.Reason, tt.reason) {
				t.Errorf("got line %d %q, want line %d %q", pe.Line, pe.Reason, tt.line, tt.reason)
			}
			if pe.StatusCode() != 400 {
				t.Errorf("StatusCode = %d", pe.StatusCode())
			}
			if tt.line > 0 && !strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

func TestParseErrorTruncatesText(t *testing.T) {
	long := "v=0\nx=" + strings.Repeat("A", 1000) + "\n"
	_, err := Parse([]byte(long))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if len(pe.Text) > maxErrText+3 {
		t.Errorf("Text is %d bytes", len(pe.Text))
	}
}

func TestParseNonRTPFormats(t *testing.T) {
	s := mustParse(t, "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n"+
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nm=image 0 udptl t38\nm=audio 0 RTP/AVP\n")
	if got := s.Media[0].Formats; !reflect.DeepEqual(got, []string{"webrtc-datachannel"}) {
		t.Errorf("formats = %q", got)
	}
	if s.Media[0].IsRTP() || s.Media[0].RTPFormats() != nil {
		t.Error("SCTP stream reported as RTP")
	}
	if s.Media[2].Formats != nil || !s.Media[2].Rejected() {
		t.Errorf("rejected stream without formats: %#v", s.Media[2])
	}
}
