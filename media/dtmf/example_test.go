package dtmf_test

import (
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
)

// The media loop pushes every telephone-event packet and calls Expire on its
// packet clock; each key press comes out once, although the end packet
// arrives three times.
func ExampleReceiver() {
	r := dtmf.NewReceiver(dtmf.WithHold(300 * time.Millisecond))
	start := time.Now()
	packets := []struct {
		ts      uint32
		payload []byte
	}{
		{13280, []byte{0x01, 0x0a, 0x00, 0x00}}, // '1' starts
		{13280, []byte{0x01, 0x0a, 0x01, 0x40}}, // update, 320 ticks
		{13280, []byte{0x01, 0x8a, 0x03, 0x20}}, // end (E bit)
		{13280, []byte{0x01, 0x8a, 0x03, 0x20}}, // end, repeated
		{13280, []byte{0x01, 0x8a, 0x03, 0x20}}, // end, repeated
		{16480, []byte{0x0b, 0x0a, 0x01, 0x40}}, // '#' starts; its ends are lost
	}
	for i, p := range packets {
		now := start.Add(time.Duration(i) * 20 * time.Millisecond)
		if d, ok, err := r.Push(0x0e05384e, p.ts, p.payload, now); err != nil {
			fmt.Println("bad packet:", err)
		} else if ok {
			fmt.Printf("digit %c\n", d)
		}
	}
	if d, ok := r.Expire(start.Add(time.Second)); ok {
		fmt.Printf("digit %c (expired)\n", d)
	}
	// Output:
	// digit 1
	// digit # (expired)
}

// The sender fills one payload per 20 ms tick; every packet of the event
// carries the RTP timestamp the event started at.
func ExampleSender() {
	var s dtmf.Sender
	if err := s.Start('5', 100*time.Millisecond, 8000, 20); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, dtmf.EventSize)
	for {
		n, marker, done := s.Next(buf)
		ev, _ := dtmf.ParseEvent(buf[:n])
		fmt.Printf("M=%v E=%v duration=%d\n", marker, ev.End, ev.Duration)
		if done {
			break
		}
	}
	// Output:
	// M=true E=false duration=160
	// M=false E=false duration=320
	// M=false E=false duration=480
	// M=false E=false duration=640
	// M=false E=true duration=800
	// M=false E=true duration=800
	// M=false E=true duration=800
}

func ExampleParseInfo() {
	digit, dur, err := dtmf.ParseInfo("application/dtmf-relay", []byte("Signal=11\r\nDuration=160\r\n"))
	fmt.Printf("%c %v %v\n", digit, dur, err)
	_, _, err = dtmf.ParseInfo("application/sdp", nil)
	fmt.Println(err)
	// Output:
	// # 160ms <nil>
	// dtmf: unsupported content type: "application/sdp"
}

func ExampleFormatInfo() {
	ct, body, err := dtmf.FormatInfo('*', 250*time.Millisecond)
	fmt.Printf("%s %q %v\n", ct, body, err)
	// Output: application/dtmf-relay "Signal=*\r\nDuration=250\r\n" <nil>
}
