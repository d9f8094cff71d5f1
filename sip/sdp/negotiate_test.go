package sdp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// g711 is the engine's usual config: G.711 with RFC 4733 DTMF.
var g711 = Config{TelephoneEvent: true}

func offerBody(conn, media string) string {
	return "v=0\no=peer 100 100 IN IP4 192.0.2.50\ns=-\n" + conn + "t=0 0\n" + media
}

func TestNegotiate(t *testing.T) {
	const c = "c=IN IP4 192.0.2.50\n"
	opusCfg := Config{TelephoneEvent: true, Codecs: []Capability{
		{Name: "opus", ClockRate: 48000, Channels: 2, PT: -1},
		{Name: "PCMA", ClockRate: 8000, PT: 8},
	}}
	tests := []struct {
		name     string
		offer    string
		cfg      Config
		codec    string // Format.String() of the chosen codec
		pt       uint8
		dtmf     int // DTMF payload type, -1 for none
		dir      Direction
		hold     bool
		remote   string
		rtcp     string
		ptime    int
		index    int
		err      error
		warn     int
		canSend  bool
		dtmfFmtp string
	}{
		{name: "PCMU first -> PCMU", offer: offerBody(c, "m=audio 4000 RTP/AVP 0 8 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 101, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001",
			ptime: 20, canSend: true, dtmfFmtp: "0-16"},
		{name: "PCMA first -> PCMA (caller preference)", offer: offerBody(c, "m=audio 4000 RTP/AVP 8 0\n"),
			cfg: g711, codec: "PCMA/8000", pt: 8, dtmf: -1, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "caller order beats our order", offer: offerBody(c, "m=audio 4000 RTP/AVP 8 0\n"),
			cfg:   Config{Codecs: []Capability{{Name: "pcmu", ClockRate: 8000, PT: 0}, {Name: "PCMA", ClockRate: 8000, PT: 8}}},
			codec: "PCMA/8000", pt: 8, dtmf: -1, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "only G729 -> no common codec", offer: string(loadOffer(t, "cisco_g729_only")),
			cfg: g711, err: ErrNoCommonCodec, warn: WarnIncompatibleFormat},
		{name: "unknown dynamic codecs skipped", offer: offerBody(c, "m=audio 4000 RTP/AVP 97 98 0\na=rtpmap:97 iLBC/8000\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "telephone-event on PT 96", offer: offerBody(c, "m=audio 4000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 96, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "telephone-event at another rate ignored", offer: offerBody(c, "m=audio 4000 RTP/AVP 0 110\na=rtpmap:110 telephone-event/48000\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "telephone-event not configured", offer: string(loadOffer(t, "asterisk")),
			cfg: Config{}, codec: "PCMA/8000", pt: 8, dtmf: -1, dir: SendRecv, remote: "203.0.113.17:14824", rtcp: "203.0.113.17:14825", ptime: 20, canSend: true},
		{name: "opus with DTMF at 48000", offer: string(loadOffer(t, "linphone_ipv6")), cfg: opusCfg,
			codec: "opus/48000/2", pt: 96, dtmf: 101, dir: SendRecv, remote: "[2001:db8:85a3::8a2e:370:7334]:7078",
			rtcp: "[2001:db8:85a3::8a2e:370:7334]:7079", ptime: 20, canSend: true},
		{name: "sendonly offer (hold) -> recvonly", offer: string(loadOffer(t, "hold_sendonly")),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 101, dir: RecvOnly, hold: true, remote: "203.0.113.17:14824",
			rtcp: "203.0.113.17:14825", ptime: 20, dtmfFmtp: "0-16"},
		{name: "recvonly offer -> sendonly", offer: offerBody(c, "m=audio 4000 RTP/AVP 0\na=recvonly\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendOnly, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20, canSend: true},
		{name: "inactive -> inactive", offer: offerBody(c, "m=audio 4000 RTP/AVP 0\na=inactive\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: Inactive, hold: true, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 20},
		{name: "session-level inactive", offer: string(loadOffer(t, "inactive_session_level")),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 127, dir: Inactive, hold: true, remote: "10.1.1.60:2226", rtcp: "10.1.1.60:2227", ptime: 20},
		{name: "c=0.0.0.0 hold (RFC 2543)", offer: string(loadOffer(t, "hold_rfc2543")),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 101, dir: SendRecv, hold: true, remote: "0.0.0.0:18076", rtcp: "0.0.0.0:18077",
			ptime: 20, dtmfFmtp: "0-15"},
		{name: "video first, audio second", offer: string(loadOffer(t, "multi_mline")),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: 101, dir: SendOnly, remote: "192.0.2.202:49174", rtcp: "192.0.2.202:49175",
			ptime: 30, index: 1, canSend: true, dtmfFmtp: "0-11"},
		{name: "rejected audio skipped", offer: string(loadOffer(t, "rejected_port0")),
			cfg: g711, codec: "PCMA/8000", pt: 8, dtmf: 96, dir: SendRecv, remote: "192.0.2.4:53000", rtcp: "192.0.2.4:53001",
			ptime: 40, index: 2, canSend: true},
		{name: "IPv6 c=IN IP6 ::1", offer: offerBody("c=IN IP6 ::1\n", "m=audio 4000 RTP/AVP 0\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendRecv, remote: "[::1]:4000", rtcp: "[::1]:4001", ptime: 20, canSend: true},
		{name: "configured ptime", offer: offerBody(c, "m=audio 4000 RTP/AVP 0\n"), cfg: Config{Ptime: 30},
			codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendRecv, remote: "192.0.2.50:4000", rtcp: "192.0.2.50:4001", ptime: 30, canSend: true},
		{name: "a=rtcp honoured", offer: string(loadOffer(t, "freeswitch")), cfg: g711,
			codec: "PCMU/8000", pt: 0, dtmf: 101, dir: SendRecv, remote: "198.51.100.40:27512", rtcp: "198.51.100.40:27513",
			ptime: 20, canSend: true, dtmfFmtp: "0-16"},
		{name: "only video -> no audio", offer: offerBody(c, "m=video 4000 RTP/AVP 31\n"), cfg: g711,
			err: ErrNoAudio, warn: WarnMediaNotAvailable},
		{name: "all audio ports 0 -> no audio", offer: offerBody(c, "m=audio 0 RTP/AVP 0\nm=audio 0 RTP/AVP 8\n"), cfg: g711,
			err: ErrNoAudio, warn: WarnMediaNotAvailable},
		{name: "no media at all", offer: offerBody(c, ""), cfg: g711, err: ErrNoAudio, warn: WarnMediaNotAvailable},
		{name: "WebRTC SAVPF -> transport not supported", offer: string(loadOffer(t, "chrome_webrtc")), cfg: g711,
			err: ErrNoAudio, warn: WarnIncompatibleTransport},
		{name: "WebRTC accepted when configured", offer: string(loadOffer(t, "chrome_webrtc")),
			cfg:   Config{TelephoneEvent: true, Protos: []string{"UDP/TLS/RTP/SAVPF"}},
			codec: "PCMU/8000", pt: 0, dtmf: 126, dir: SendRecv, remote: "192.0.2.55:51432", rtcp: "0.0.0.0:9", ptime: 20, canSend: true},
		{name: "host name -> address error", offer: offerBody("c=IN IP4 pbx.example.com\n", "m=audio 4000 RTP/AVP 0\n"), cfg: g711,
			err: ErrAddress, warn: WarnIncompatibleAddress},
		{name: "address error on first stream, second usable", offer: offerBody("", "m=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 0\nc=IN IP4 192.0.2.9\n"),
			cfg: g711, codec: "PCMU/8000", pt: 0, dtmf: -1, dir: SendRecv, remote: "192.0.2.9:4002", rtcp: "192.0.2.9:4003", ptime: 20, index: 1, canSend: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer := mustParse(t, tt.offer)
			n, err := Negotiate(offer, tt.cfg)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Negotiate = %+v, %v; want %v", n, err, tt.err)
				}
				var ne *NegotiationError
				if !errors.As(err, &ne) || ne.Warn != tt.warn || ne.StatusCode() != 488 {
					t.Errorf("error %#v: want warn %d and status 488", err, tt.warn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec.String() != tt.codec || n.Codec.PT != tt.pt {
				t.Errorf("codec = %d %s, want %d %s", n.Codec.PT, n.Codec, tt.pt, tt.codec)
			}
			switch {
			case tt.dtmf < 0 && n.DTMF != nil:
				t.Errorf("DTMF = %+v, want none", *n.DTMF)
			case tt.dtmf >= 0 && (n.DTMF == nil || int(n.DTMF.PT) != tt.dtmf || n.DTMF.ClockRate != n.Codec.ClockRate || n.DTMF.Fmtp != tt.dtmfFmtp):
				t.Errorf("DTMF = %+v, want PT %d fmtp %q", n.DTMF, tt.dtmf, tt.dtmfFmtp)
			}
			if n.Direction != tt.dir || n.Hold != tt.hold || n.CanSend() != tt.canSend {
				t.Errorf("direction %s hold %v canSend %v, want %s %v %v", n.Direction, n.Hold, n.CanSend(), tt.dir, tt.hold, tt.canSend)
			}
			if n.Remote.String() != tt.remote || n.RemoteRTCP.String() != tt.rtcp {
				t.Errorf("remote %s rtcp %s, want %s %s", n.Remote, n.RemoteRTCP, tt.remote, tt.rtcp)
			}
			if n.Ptime != tt.ptime || n.MediaIndex != tt.index {
				t.Errorf("ptime %d index %d, want %d %d", n.Ptime, n.MediaIndex, tt.ptime, tt.index)
			}
		})
	}
}

func TestNegotiateNilOffer(t *testing.T) {
	if _, err := Negotiate(nil, g711); !errors.Is(err, ErrNoAudio) {
		t.Errorf("Negotiate(nil) = %v", err)
	}
}

func TestNegotiationErrorWarning(t *testing.T) {
	_, err := Negotiate(mustParse(t, string(loadOffer(t, "cisco_g729_only"))), g711)
	var ne *NegotiationError
	if !errors.As(err, &ne) {
		t.Fatal(err)
	}
	if got := ne.Warning("hotline"); got != `305 hotline "Incompatible media format"` {
		t.Errorf("Warning = %s", got)
	}
	if !strings.Contains(err.Error(), "G729/8000") || !strings.Contains(err.Error(), "PCMU/8000") {
		t.Errorf("error %q does not list offered and supported codecs", err)
	}
	for code, text := range map[int]string{301: "Incompatible network address formats", 302: "Incompatible transport protocol",
		304: "Media type not available", 399: "Miscellaneous warning"} {
		e := &NegotiationError{Err: ErrNoAudio, Warn: code}
		if got := e.Warning(""); got != strings.Join([]string{strconv.Itoa(code), "-", `"` + text + `"`}, " ") {
			t.Errorf("Warning(%d) = %s", code, got)
		}
		if e.Error() != ErrNoAudio.Error() {
			t.Errorf("Error() without detail = %q", e.Error())
		}
	}
	if got := (&NegotiationError{Detail: "x"}).Error(); got != "sdp: negotiation failed: x" {
		t.Errorf("Error() without Err = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	if err := (Config{Codecs: DefaultCodecs(), TelephoneEvent: true, Ptime: 20}).Validate(); err != nil {
		t.Errorf("default codecs: %v", err)
	}
	bad := Config{
		Codecs: []Capability{
			{Name: "", ClockRate: 8000, PT: 0},
			{Name: "telephone-event", ClockRate: 8000, PT: 101},
			{Name: "PCMA", ClockRate: 0, PT: 0},
			{Name: "L16", ClockRate: 8000, Channels: -1, PT: 200},
		},
		Ptime:  -5,
		Protos: []string{""},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"codecs[0]: empty name", "use TelephoneEvent", "clock rate must be positive",
		"channels out of range", "payload type 200 out of range", "payload type 0 already used", "ptime -5", "protos[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() missing %q in:\n%v", want, err)
		}
	}
}
