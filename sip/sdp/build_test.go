package sdp

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var (
	localV4 = netip.MustParseAddrPort("198.51.100.9:30000")
	localV6 = netip.MustParseAddrPort("[2001:db8::9]:30002")
	ourO    = Origin{Username: "-", SessionID: 777, SessionVersion: 777, NetType: "IN", AddrType: "IP4", Address: "198.51.100.9"}
)

func TestAnswerGolden(t *testing.T) {
	offer := mustParse(t, string(loadOffer(t, "asterisk")))
	n, err := Negotiate(offer, g711)
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\n" +
		"o=- 777 777 IN IP4 198.51.100.9\r\n" +
		"s=-\r\n" +
		"c=IN IP4 198.51.100.9\r\n" +
		"t=0 0\r\n" +
		"m=audio 30000 RTP/AVP 8 101\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got := Answer(offer, n, localV4, ourO).String(); got != want {
		t.Errorf("Answer =\n%s\nwant\n%s", got, want)
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		offer  string
		local  netip.AddrPort
		ports  []int    // per m-line
		fmts   []string // per m-line
		dir    string
		conn   string
		hasPtm string
	}{
		{"multi_mline", localV4, []int{0, 30000, 0}, []string{"31 34", "0 101", "8"}, "sendonly", "IN IP4 198.51.100.9", "30"},
		{"rejected_port0", localV4, []int{0, 0, 30000}, []string{"0", "31", "8 96"}, "sendrecv", "IN IP4 198.51.100.9", "40"},
		{"hold_sendonly", localV6, []int{30002}, []string{"0 101"}, "recvonly", "IN IP6 2001:db8::9", "20"},
		{"inactive_session_level", localV4, []int{30000}, []string{"0 127"}, "inactive", "IN IP4 198.51.100.9", "20"},
		{"sipp_uac", localV4, []int{30000}, []string{"0"}, "sendrecv", "IN IP4 198.51.100.9", "20"},
		{"rfc4566_multicast", localV4, []int{30000, 0}, []string{"0", "99"}, "sendonly", "IN IP4 198.51.100.9", "20"},
	}
	for _, tt := range tests {
		t.Run(tt.offer, func(t *testing.T) {
			offer := mustParse(t, string(loadOffer(t, tt.offer)))
			n, err := Negotiate(offer, g711)
			if err != nil {
				t.Fatal(err)
			}
			ans := Answer(offer, n, tt.local, ourO)
			// The answer must itself be a valid description.
			re, err := Parse(ans.Marshal())
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, ans)
			}
			if !reflect.DeepEqual(re, ans) {
				t.Errorf("answer does not round-trip:\n%#v\n%#v", ans, re)
			}
			if len(ans.Media) != len(offer.Media) {
				t.Fatalf("answer has %d m-lines, offer %d", len(ans.Media), len(offer.Media))
			}
			if !reflect.DeepEqual(ans.Times, offer.Times) {
				t.Errorf("t= %+v differs from offer %+v", ans.Times, offer.Times)
			}
			if got := ans.Connection.NetType + " " + ans.Connection.AddrType + " " + ans.Connection.Address; got != tt.conn {
				t.Errorf("c= %s, want %s", got, tt.conn)
			}
			for i := range ans.Media {
				am, om := &ans.Media[i], &offer.Media[i]
				if am.Type != om.Type || am.Proto != om.Proto {
					t.Errorf("m-line %d: %s %s, offer %s %s", i, am.Type, am.Proto, om.Type, om.Proto)
				}
				if am.Port != tt.ports[i] || strings.Join(am.Formats, " ") != tt.fmts[i] {
					t.Errorf("m-line %d: port %d formats %v, want %d %s", i, am.Port, am.Formats, tt.ports[i], tt.fmts[i])
				}
				if i != n.MediaIndex {
					if len(am.Attributes) != 0 {
						t.Errorf("rejected m-line %d has attributes %v", i, am.Attributes)
					}
					continue
				}
				if d := ans.MediaDirection(am); d.String() != tt.dir {
					t.Errorf("direction %s, want %s", d, tt.dir)
				}
				if p, _ := am.Attr("ptime"); p != tt.hasPtm {
					t.Errorf("ptime %q, want %q", p, tt.hasPtm)
				}
				// Exactly the chosen codec and DTMF, each with an rtpmap
				// naming the same encoding as the offer.
				for _, f := range am.RTPFormats() {
					of, ok := om.Format(f.PT)
					if !ok || !strings.EqualFold(of.Name, f.Name) || of.ClockRate != f.ClockRate {
						t.Errorf("answered format %+v not offered as such (%+v)", f, of)
					}
				}
				if got := len(am.Attributes.Values("rtpmap")); got != len(am.Formats) {
					t.Errorf("%d rtpmap lines for %d formats", got, len(am.Formats))
				}
			}
		})
	}
}

func TestAnswerDegenerateInput(t *testing.T) {
	ans := Answer(nil, Negotiated{}, netip.AddrPort{}, Origin{})
	if _, err := Parse(ans.Marshal()); err != nil {
		t.Errorf("answer to nil offer does not parse: %v\n%s", err, ans)
	}
	offer := mustParse(t, offerBody("c=IN IP4 192.0.2.1\n", "m=audio 4000 RTP/AVP 0\n"))
	ans = Answer(offer, Negotiated{MediaIndex: 7}, localV4, ourO)
	if len(ans.Media) != 1 || ans.Media[0].Port != 0 {
		t.Errorf("out-of-range MediaIndex did not reject every stream: %s", ans)
	}
	n := Negotiated{Codec: Format{PT: 0, Name: "PCMU", ClockRate: 8000}, DTMF: &Format{PT: 101, Name: "telephone-event", ClockRate: 8000}}
	ans = Answer(offer, n, localV4, ourO)
	if v, _ := ans.Media[0].Attr("fmtp"); v != "101 0-16" {
		t.Errorf("default DTMF fmtp = %q", v)
	}
	if ans.Media[0].Direction() != SendRecv || ans.Media[0].Attributes.Has("ptime") {
		t.Errorf("zero Negotiated: %s", ans)
	}
}

func TestOfferGolden(t *testing.T) {
	want := "v=0\r\n" +
		"o=- 777 777 IN IP4 198.51.100.9\r\n" +
		"s=-\r\n" +
		"c=IN IP4 198.51.100.9\r\n" +
		"t=0 0\r\n" +
		"m=audio 30000 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got := Offer(g711, localV4, ourO, Unknown).String(); got != want {
		t.Errorf("Offer =\n%s\nwant\n%s", got, want)
	}
}

func TestOffer(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		dir   Direction
		fmts  string
		maps  []string
		fmtps []string
		ptime string
	}{
		{"no DTMF", Config{}, SendRecv, "0 8", []string{"0 PCMU/8000", "8 PCMA/8000"}, nil, "20"},
		{"sendonly for hold", Config{Ptime: 30}, SendOnly, "0 8", []string{"0 PCMU/8000", "8 PCMA/8000"}, nil, "30"},
		{"dynamic codecs avoid 101 and extra DTMF rates", Config{TelephoneEvent: true, Codecs: []Capability{
			{Name: "opus", ClockRate: 48000, Channels: 2, PT: -1, Fmtp: "useinbandfec=1"},
			{Name: "G722", ClockRate: 8000, PT: 9},
			{Name: "L16", ClockRate: 16000, PT: -1},
			{Name: "PCMU", ClockRate: 8000, PT: 0},
		}}, SendRecv, "96 9 97 0 101 98 99",
			[]string{"96 opus/48000/2", "9 G722/8000", "97 L16/16000", "0 PCMU/8000",
				"101 telephone-event/8000", "98 telephone-event/48000", "99 telephone-event/16000"},
			[]string{"96 useinbandfec=1", "101 0-16", "98 0-16", "99 0-16"}, "20"},
		{"duplicate and invalid capabilities skipped", Config{Codecs: []Capability{
			{Name: "PCMU", ClockRate: 8000, PT: 0},
			{Name: "X", ClockRate: 8000, PT: 0},
			{Name: "", ClockRate: 8000, PT: -1},
			{Name: "Y", ClockRate: 0, PT: -1},
		}}, SendRecv, "0 96", []string{"0 PCMU/8000", "96 X/8000"}, nil, "20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Offer(tt.cfg, localV4, ourO, tt.dir)
			re, err := Parse(s.Marshal())
			if err != nil {
				t.Fatalf("offer does not parse: %v\n%s", err, s)
			}
			m := &re.Media[0]
			if got := strings.Join(m.Formats, " "); got != tt.fmts {
				t.Errorf("formats %s, want %s", got, tt.fmts)
			}
			if got := m.Attributes.Values("rtpmap"); !reflect.DeepEqual(got, tt.maps) {
				t.Errorf("rtpmap %q, want %q", got, tt.maps)
			}
			if got := m.Attributes.Values("fmtp"); !reflect.DeepEqual(got, tt.fmtps) {
				t.Errorf("fmtp %q, want %q", got, tt.fmtps)
			}
			if p, _ := m.Attr("ptime"); p != tt.ptime || m.Direction() != tt.dir {
				t.Errorf("ptime %s direction %s", p, m.Direction())
			}
		})
	}
}

func TestOfferRunsOutOfPayloadTypes(t *testing.T) {
	var codecs []Capability
	for i := 0; i < 40; i++ {
		codecs = append(codecs, Capability{Name: "C" + strings.Repeat("x", i), ClockRate: 8000, PT: -1})
	}
	s := Offer(Config{Codecs: codecs, TelephoneEvent: true}, localV4, ourO, SendRecv)
	if got := len(s.Media[0].Formats); got != 32 {
		t.Errorf("%d formats, want the 32 dynamic payload types", got)
	}
	if _, err := Parse(s.Marshal()); err != nil {
		t.Error(err)
	}
}

func TestNegotiateAnswer(t *testing.T) {
	offer := Offer(g711, localV4, ourO, SendRecv)
	holdOffer := Offer(g711, localV4, ourO, SendOnly)
	const c = "c=IN IP4 192.0.2.60\n"
	tests := []struct {
		name   string
		offer  *Session
		answer string
		codec  string
		dtmf   int
		dir    Direction
		hold   bool
		remote string
		ptime  int
		err    error
	}{
		{"PCMA chosen", offer, offerBody(c, "m=audio 5000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\na=ptime:30\n"),
			"PCMA/8000", 101, SendRecv, false, "192.0.2.60:5000", 30, nil},
		{"first answered codec wins", offer, offerBody(c, "m=audio 5000 RTP/AVP 0 8\n"),
			"PCMU/8000", -1, SendRecv, false, "192.0.2.60:5000", 20, nil},
		{"renumbered DTMF", offer, offerBody(c, "m=audio 5000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\n"),
			"PCMU/8000", 96, SendRecv, false, "192.0.2.60:5000", 20, nil},
		{"codec we did not offer skipped", offer, offerBody(c, "m=audio 5000 RTP/AVP 18 8\n"),
			"PCMA/8000", -1, SendRecv, false, "192.0.2.60:5000", 20, nil},
		{"they recvonly -> we sendonly", offer, offerBody(c, "m=audio 5000 RTP/AVP 0\na=recvonly\n"),
			"PCMU/8000", -1, SendOnly, false, "192.0.2.60:5000", 20, nil},
		{"they sendonly -> we recvonly", offer, offerBody(c, "m=audio 5000 RTP/AVP 0\na=sendonly\n"),
			"PCMU/8000", -1, RecvOnly, true, "192.0.2.60:5000", 20, nil},
		{"our hold answered recvonly", holdOffer, offerBody(c, "m=audio 5000 RTP/AVP 0\na=recvonly\n"),
			"PCMU/8000", -1, SendOnly, false, "192.0.2.60:5000", 20, nil},
		{"our hold answered sendrecv", holdOffer, offerBody(c, "m=audio 5000 RTP/AVP 0\n"),
			"PCMU/8000", -1, SendOnly, false, "192.0.2.60:5000", 20, nil},
		{"inactive", offer, offerBody(c, "m=audio 5000 RTP/AVP 0\na=inactive\n"),
			"PCMU/8000", -1, Inactive, true, "192.0.2.60:5000", 20, nil},
		{"only codecs we did not offer", offer, offerBody(c, "m=audio 5000 RTP/AVP 18\n"), "", 0, 0, false, "", 0, ErrNoCommonCodec},
		{"stream rejected", offer, offerBody(c, "m=audio 0 RTP/AVP 0\n"), "", 0, 0, false, "", 0, ErrNoAudio},
		{"m-line count differs", offer, offerBody(c, "m=audio 5000 RTP/AVP 0\nm=video 0 RTP/AVP 31\n"), "", 0, 0, false, "", 0, ErrAnswerMismatch},
		{"no address", offer, offerBody("", "m=audio 5000 RTP/AVP 0\n"), "", 0, 0, false, "", 0, ErrAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NegotiateAnswer(tt.offer, mustParse(t, tt.answer), g711)
			if tt.err != nil {
				var ne *NegotiationError
				if !errors.Is(err, tt.err) || !errors.As(err, &ne) {
					t.Fatalf("NegotiateAnswer = %+v, %v; want %v", n, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec.String() != tt.codec || n.Direction != tt.dir || n.Hold != tt.hold ||
				n.Remote.String() != tt.remote || n.Ptime != tt.ptime || n.MediaIndex != 0 {
				t.Errorf("got %s %s hold=%v %s ptime %d, want %s %s hold=%v %s %d",
					n.Codec, n.Direction, n.Hold, n.Remote, n.Ptime, tt.codec, tt.dir, tt.hold, tt.remote, tt.ptime)
			}
			if (tt.dtmf < 0) != (n.DTMF == nil) || (n.DTMF != nil && int(n.DTMF.PT) != tt.dtmf) {
				t.Errorf("DTMF %+v, want %d", n.DTMF, tt.dtmf)
			}
		})
	}
	if _, err := NegotiateAnswer(nil, offer, g711); !errors.Is(err, ErrAnswerMismatch) {
		t.Errorf("nil offer: %v", err)
	}
}

// Late offer: we offer in the 200 OK, the peer answers in the ACK; the
// exchange must close over our own Answer as the peer's answer.
func TestOfferAnswerLoop(t *testing.T) {
	cfg := Config{TelephoneEvent: true, Codecs: []Capability{
		{Name: "opus", ClockRate: 48000, Channels: 2, PT: -1},
		{Name: "PCMA", ClockRate: 8000, PT: 8},
	}}
	peer := Config{TelephoneEvent: true, Codecs: []Capability{{Name: "PCMA", ClockRate: 8000, PT: 8}}}
	offer := Offer(cfg, localV4, ourO, SendRecv)
	theirN, err := Negotiate(offer, peer)
	if err != nil {
		t.Fatal(err)
	}
	answer := Answer(offer, theirN, netip.MustParseAddrPort("192.0.2.77:40000"), Origin{Username: "peer", NetType: "IN", AddrType: "IP4", Address: "192.0.2.77"})
	n, err := NegotiateAnswer(offer, answer, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.Codec.String() != "PCMA/8000" || n.DTMF == nil || n.DTMF.PT != DTMFPayloadType || n.Remote.String() != "192.0.2.77:40000" || !n.CanSend() {
		t.Errorf("got %+v", n)
	}
}

// RFC 3264 §8: re-INVITEs for hold and resume, with the o= version going
// up by one only when our answer changes.
func TestReInviteHoldResume(t *testing.T) {
	st := NewOriginState(NewOrigin(1000, localV4.Addr()))
	steps := []struct {
		offer   string
		dir     Direction
		version uint64
	}{
		{"asterisk", SendRecv, 1000},
		{"asterisk", SendRecv, 1000}, // session refresh: same answer, same version
		{"hold_sendonly", RecvOnly, 1001},
		{"hold_sendonly", RecvOnly, 1001},
		{"asterisk", SendRecv, 1002}, // resume
	}
	for i, step := range steps {
		offer := mustParse(t, string(loadOffer(t, step.offer)))
		n, err := Negotiate(offer, g711)
		if err != nil {
			t.Fatal(err)
		}
		ans := Answer(offer, n, localV4, st.Origin())
		st.Stamp(ans)
		if n.Direction != step.dir || ans.Origin.SessionVersion != step.version || ans.Origin.SessionID != 1000 {
			t.Errorf("step %d (%s): direction %s version %d, want %s %d", i, step.offer, n.Direction, ans.Origin.SessionVersion, step.dir, step.version)
		}
		if st.Origin() != ans.Origin {
			t.Errorf("step %d: state %+v, answer %+v", i, st.Origin(), ans.Origin)
		}
	}
	var nilState *OriginState
	nilState.Stamp(&Session{}) // must not panic
}

func TestNewOrigin(t *testing.T) {
	o := NewOrigin(42, netip.MustParseAddr("2001:db8::1"))
	want := Origin{Username: "-", SessionID: 42, SessionVersion: 42, NetType: "IN", AddrType: "IP6", Address: "2001:db8::1"}
	if o != want {
		t.Errorf("NewOrigin = %+v", o)
	}
}
