package sdp

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestRTPFormats(t *testing.T) {
	tests := []struct {
		name  string
		media string
		want  []Format
	}{
		{
			name:  "static without rtpmap (RFC 3551)",
			media: "m=audio 4000 RTP/AVP 0 8 9 3 4 18 13",
			want: []Format{
				{PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
				{PT: 8, Name: "PCMA", ClockRate: 8000, Channels: 1},
				{PT: 9, Name: "G722", ClockRate: 8000, Channels: 1},
				{PT: 3, Name: "GSM", ClockRate: 8000, Channels: 1},
				{PT: 4, Name: "G723", ClockRate: 8000, Channels: 1},
				{PT: 18, Name: "G729", ClockRate: 8000, Channels: 1},
				{PT: 13, Name: "CN", ClockRate: 8000, Channels: 1},
			},
		},
		{
			name: "dynamic with rtpmap and fmtp",
			media: "m=audio 4000 RTP/AVP 96 101 18\na=rtpmap:96 opus/48000/2\na=fmtp:96 useinbandfec=1\n" +
				"a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=fmtp:18 annexb=no",
			want: []Format{
				{PT: 96, Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "useinbandfec=1"},
				{PT: 101, Name: "telephone-event", ClockRate: 8000, Channels: 1, Fmtp: "0-16"},
				{PT: 18, Name: "G729", ClockRate: 8000, Channels: 1, Fmtp: "annexb=no"},
			},
		},
		{
			name:  "dynamic without rtpmap is unnamed",
			media: "m=audio 4000 RTP/AVP 97 0",
			want: []Format{
				{PT: 97},
				{PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
			},
		},
		{
			name: "invalid rtpmap falls back to static table, first rtpmap wins",
			media: "m=audio 4000 RTP/AVP 0 96 97\na=rtpmap:0 PCMU/fast\na=rtpmap:96 iLBC/8000\na=rtpmap:96 speex/8000\n" +
				"a=rtpmap:97 L16/0\na=rtpmap:x y/1",
			want: []Format{
				{PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
				{PT: 96, Name: "iLBC", ClockRate: 8000, Channels: 1},
				{PT: 97},
			},
		},
		{
			name:  "rtpmap overrides static assignment",
			media: "m=audio 4000 RTP/AVP 9\na=rtpmap:9 G722/16000",
			want:  []Format{{PT: 9, Name: "G722", ClockRate: 16000, Channels: 1}},
		},
		{
			name:  "video has no channels",
			media: "m=video 4000 RTP/AVP 31 96\na=rtpmap:96 VP8/90000",
			want: []Format{
				{PT: 31, Name: "H261", ClockRate: 90000},
				{PT: 96, Name: "VP8", ClockRate: 90000},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"+tt.media+"\n")
			if got := s.Media[0].RTPFormats(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RTPFormats =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestMediaFormatLookup(t *testing.T) {
	s := mustParse(t, string(loadOffer(t, "baresip")))
	f, ok := s.Media[0].Format(96)
	if !ok || f.String() != "opus/48000/2" || f.Fmtp != "stereo=1;sprop-stereo=1" {
		t.Errorf("Format(96) = %+v, %v", f, ok)
	}
	if _, ok := s.Media[0].Format(18); ok {
		t.Error("Format(18) found a format that is not listed")
	}
}

func TestStaticFormat(t *testing.T) {
	for _, tt := range []struct {
		pt   uint8
		want string
		ok   bool
	}{{0, "PCMU/8000", true}, {8, "PCMA/8000", true}, {9, "G722/8000", true}, {10, "L16/44100/2", true},
		{18, "G729/8000", true}, {2, "", false}, {35, "", false}, {96, "", false}, {255, "", false}} {
		f, ok := StaticFormat(tt.pt)
		if ok != tt.ok || (ok && f.String() != tt.want) || (ok && f.PT != tt.pt) {
			t.Errorf("StaticFormat(%d) = %+v, %v", tt.pt, f, ok)
		}
	}
}

func TestPtime(t *testing.T) {
	for _, tt := range []struct {
		attrs         string
		ptime, maxPtm int
	}{
		{"", 0, 0},
		{"a=ptime:20\na=maxptime:150", 20, 150},
		{"a=ptime:30", 30, 0},
		{"a=ptime:20.0", 20, 0},
		{"a=ptime: 40", 40, 0},
		{"a=ptime:abc", 0, 0},
		{"a=ptime:-20", 0, 0},
		{"a=ptime:99999999999", 0, 0},
	} {
		s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n"+tt.attrs+"\n")
		if p, mp := s.Media[0].Ptime(), s.Media[0].MaxPtime(); p != tt.ptime || mp != tt.maxPtm {
			t.Errorf("%q: Ptime, MaxPtime = %d, %d, want %d, %d", tt.attrs, p, mp, tt.ptime, tt.maxPtm)
		}
	}
}

func TestDirection(t *testing.T) {
	for _, tt := range []struct {
		d        Direction
		name     string
		reverse  Direction
		sends    bool
		receives bool
	}{
		{Unknown, "unknown", SendRecv, true, true},
		{SendRecv, "sendrecv", SendRecv, true, true},
		{SendOnly, "sendonly", RecvOnly, true, false},
		{RecvOnly, "recvonly", SendOnly, false, true},
		{Inactive, "inactive", Inactive, false, false},
		{Direction(42), "unknown", SendRecv, false, false},
	} {
		if tt.d.String() != tt.name || tt.d.Reverse() != tt.reverse || tt.d.Sends() != tt.sends || tt.d.Receives() != tt.receives {
			t.Errorf("%d: %s reverse %s sends %v receives %v", int(tt.d), tt.d, tt.d.Reverse(), tt.d.Sends(), tt.d.Receives())
		}
		if tt.d >= SendRecv && tt.d <= Inactive && ParseDirection(tt.name) != tt.d {
			t.Errorf("ParseDirection(%q) = %s", tt.name, ParseDirection(tt.name))
		}
	}
	if ParseDirection("SENDRECV") != Unknown {
		t.Error("direction attributes are case-sensitive")
	}
}

func TestMediaDirection(t *testing.T) {
	for _, tt := range []struct {
		session, media string
		want           Direction
	}{
		{"", "", SendRecv},
		{"", "a=sendonly\n", SendOnly},
		{"a=inactive\n", "", Inactive},
		{"a=inactive\n", "a=recvonly\n", RecvOnly},
		{"", "a=rtpmap:0 PCMU/8000\na=recvonly\na=sendonly\n", RecvOnly},
	} {
		s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"+tt.session+"m=audio 4000 RTP/AVP 0\n"+tt.media)
		if got := s.MediaDirection(&s.Media[0]); got != tt.want {
			t.Errorf("session %q media %q: MediaDirection = %s, want %s", tt.session, tt.media, got, tt.want)
		}
	}
}

func TestSetDirection(t *testing.T) {
	s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\na=sendrecv\na=ptime:20\na=sendonly\n")
	orig := s.Media[0].Attributes
	m := s.Media[0]
	m.SetDirection(Inactive)
	want := Attributes{{Key: "ptime", Value: "20"}, {Key: "inactive"}}
	if !reflect.DeepEqual(m.Attributes, want) {
		t.Errorf("attributes = %+v", m.Attributes)
	}
	if orig[0].Key != "sendrecv" {
		t.Error("SetDirection modified a shared backing array")
	}
	m.SetDirection(Unknown)
	if m.Direction() != Unknown || len(m.Attributes) != 1 {
		t.Errorf("SetDirection(Unknown) left %+v", m.Attributes)
	}
	var nilMedia *Media
	nilMedia.SetDirection(SendOnly) // must not panic
}

func TestAudioAddr(t *testing.T) {
	const head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n"
	tests := []struct {
		name    string
		body    string
		want    string
		wantErr bool
	}{
		{"session c=", "c=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "192.0.2.10:4000", false},
		{"media c= beats session c=", "c=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\nc=IN IP4 198.51.100.7\n", "198.51.100.7:4000", false},
		{"IPv6 loopback", "c=IN IP6 ::1\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "[::1]:4000", false},
		{"IPv6 media", "t=0 0\nm=audio 4000 RTP/AVP 0\nc=IN IP6 2001:db8::5\n", "[2001:db8::5]:4000", false},
		{"RFC 2543 hold", "c=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "0.0.0.0:4000", false},
		{"multicast ttl suffix", "c=IN IP4 224.2.17.12/127\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "224.2.17.12:4000", false},
		{"no c=", "t=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"host name", "c=IN IP4 pbx.example.com\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"IP6 address as IP4", "c=IN IP4 2001:db8::1\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"IP4 address as IP6", "c=IN IP6 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"zone", "c=IN IP6 fe80::1%eth0\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"not IN", "c=ATM NSAP 47.0005.80.ffe100.0000.f20f.2222.0000.000000000001.00\nt=0 0\nm=audio 4000 RTP/AVP 0\n", "", true},
		{"port 0", "c=IN IP4 192.0.2.10\nt=0 0\nm=audio 0 RTP/AVP 0\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, head+tt.body)
			got, err := s.AudioAddr(&s.Media[0])
			if tt.wantErr {
				if !errors.Is(err, ErrAddress) {
					t.Errorf("AudioAddr = %v, %v; want ErrAddress", got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("AudioAddr = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	var s *Session
	if _, err := s.AudioAddr(nil); !errors.Is(err, ErrAddress) {
		t.Error("nil stream accepted")
	}
}

func TestRTCPAddr(t *testing.T) {
	const head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n"
	for _, tt := range []struct {
		media string
		want  string
		err   bool
	}{
		{"m=audio 4000 RTP/AVP 0\n", "192.0.2.10:4001", false},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:4005\n", "192.0.2.10:4005", false},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:9 IN IP4 0.0.0.0\n", "0.0.0.0:9", false},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:53020 IN IP6 2001:db8::9\n", "[2001:db8::9]:53020", false},
		{"m=audio 65535 RTP/AVP 0\n", "", true},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:x\n", "", true},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:4001 IN IP4\n", "", true},
		{"m=audio 4000 RTP/AVP 0\na=rtcp:4001 IN IP4 host.example\n", "", true},
	} {
		s := mustParse(t, head+tt.media)
		got, err := s.RTCPAddr(&s.Media[0])
		if (err != nil) != tt.err || (err == nil && got.String() != tt.want) {
			t.Errorf("%q: RTCPAddr = %v, %v; want %s", tt.media, got, err, tt.want)
		}
	}
}

func TestConnectionAddrRoundTrip(t *testing.T) {
	for _, a := range []string{"192.0.2.1", "::1", "2001:db8::1", "::ffff:192.0.2.1"} {
		addr := netip.MustParseAddr(a)
		c := connectionFor(addr)
		got, err := c.Addr()
		if err != nil || got != addr.Unmap() {
			t.Errorf("%s: %+v -> %v, %v", a, c, got, err)
		}
	}
	if c := connectionFor(netip.Addr{}); c.Address != "0.0.0.0" || c.AddrType != "IP4" {
		t.Errorf("invalid address -> %+v", c)
	}
}
