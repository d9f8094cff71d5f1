package media_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// One call leg: the SIP layer opens a session for the INVITE, configures it from the
// offer/answer, starts it on answer, and the flow plays a prompt. Here the caller is a
// plain UDP socket that reads the first packet.
func ExampleEngine_NewSession() {
	eng, err := media.NewEngine(media.Config{
		BindIP:  netip.MustParseAddr("127.0.0.1"),
		PortMin: 23000, PortMax: 23100,
	}, media.WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()

	caller, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer caller.Close()

	sess, err := eng.NewSession(nil) // the SDP answer announces sess.LocalAddr()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sess.Close()
	err = sess.Configure(media.Params{
		Codec: codec.PCMU, PayloadType: 0, DTMFPayloadType: 101,
		Remote: caller.LocalAddr().(*net.UDPAddr).AddrPort(),
		Send:   true, Recv: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sess.Start() // on 200 OK (or 183 with early media)

	// 100 ms of a prompt; Play returns once it has been sent.
	if err := sess.Play(context.Background(), media.Silence(100*time.Millisecond, sess.SampleRate())); err != nil {
		fmt.Println(err)
		return
	}

	buf := make([]byte, 1500)
	_ = caller.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := caller.ReadFromUDPAddrPort(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	var h rtp.Header
	payload, err := h.Unmarshal(buf[:n])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("PT %d, %d bytes, marker %v\n", h.PayloadType, len(payload), h.Marker)
	// Output: PT 0, 160 bytes, marker true
}
