package sdp_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

const inviteBody = "v=0\r\n" +
	"o=- 1823447931 1823447931 IN IP4 203.0.113.17\r\n" +
	"s=Asterisk\r\n" +
	"c=IN IP4 203.0.113.17\r\n" +
	"t=0 0\r\n" +
	"m=audio 14824 RTP/AVP 8 0 101\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

// An inbound INVITE with an offer: parse, negotiate, answer in the 200 OK.
func Example_inboundCall() {
	cfg := sdp.Config{TelephoneEvent: true} // G.711 + RFC 4733 DTMF
	local := netip.MustParseAddrPort("198.51.100.9:30000")
	origin := sdp.NewOriginState(sdp.NewOrigin(4242, local.Addr())) // one per dialog

	offer, err := sdp.Parse([]byte(inviteBody))
	if err != nil {
		fmt.Println("reply 400:", err)
		return
	}
	n, err := sdp.Negotiate(offer, cfg)
	var ne *sdp.NegotiationError
	if errors.As(err, &ne) {
		fmt.Println("reply", ne.StatusCode(), "Warning:", ne.Warning("hotline"))
		return
	}
	fmt.Printf("send %s (PT %d) to %s every %d ms, DTMF on PT %d\n",
		n.Codec, n.Codec.PT, n.Remote, n.Ptime, n.DTMF.PT)

	answer := sdp.Answer(offer, n, local, origin.Origin())
	origin.Stamp(answer) // RFC 3264 §8 version handling
	fmt.Print(strings.ReplaceAll(answer.String(), "\r\n", "\n"))
	// Output:
	// send PCMA/8000 (PT 8) to 203.0.113.17:14824 every 20 ms, DTMF on PT 101
	// v=0
	// o=- 4242 4242 IN IP4 198.51.100.9
	// s=-
	// c=IN IP4 198.51.100.9
	// t=0 0
	// m=audio 30000 RTP/AVP 8 101
	// a=rtpmap:8 PCMA/8000
	// a=rtpmap:101 telephone-event/8000
	// a=fmtp:101 0-16
	// a=ptime:20
	// a=sendrecv
}

// An offer nobody can agree with is refused with 488 and a Warning.
func ExampleNegotiate_noCommonCodec() {
	offer, _ := sdp.Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 18\r\n"))
	_, err := sdp.Negotiate(offer, sdp.Config{})
	var ne *sdp.NegotiationError
	if errors.As(err, &ne) && errors.Is(err, sdp.ErrNoCommonCodec) {
		fmt.Println(ne.StatusCode(), ne.Warning("hotline"))
	}
	// Output:
	// 488 305 hotline "Incompatible media format"
}

// A late-offer INVITE (no body): offer in the 200 OK, read the answer
// from the ACK.
func ExampleOffer() {
	cfg := sdp.Config{TelephoneEvent: true}
	local := netip.MustParseAddrPort("198.51.100.9:30000")
	offer := sdp.Offer(cfg, local, sdp.NewOrigin(7, local.Addr()), sdp.SendRecv)

	ackBody := "v=0\r\no=peer 5 5 IN IP4 192.0.2.60\r\ns=-\r\nc=IN IP4 192.0.2.60\r\nt=0 0\r\n" +
		"m=audio 5000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	answer, err := sdp.Parse([]byte(ackBody))
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := sdp.NegotiateAnswer(offer, answer, cfg)
	if err != nil {
		fmt.Println("send BYE:", err)
		return
	}
	fmt.Println(offer.Media[0].Formats, "->", n.Codec, n.Remote, n.Direction)
	// Output:
	// [0 8 101] -> PCMA/8000 192.0.2.60:5000 sendrecv
}

func ExampleParse() {
	s, err := sdp.Parse([]byte("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n" +
		"m=audio 4000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\na=sendonly\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := &s.Media[0]
	addr, _ := s.AudioAddr(m)
	fmt.Println(m.RTPFormats(), s.MediaDirection(m), addr, addr.Addr().IsUnspecified())

	_, err = sdp.Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n"))
	fmt.Println(errors.Is(err, sdp.ErrMalformed), err)
	// Output:
	// [PCMU/8000 telephone-event/8000] sendonly 0.0.0.0:4000 true
	// true sdp: line 5: invalid port: "m=audio 99999 RTP/AVP 0"
}
