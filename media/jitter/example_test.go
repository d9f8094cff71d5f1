package jitter_test

import (
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/jitter"
)

// The receive goroutine pushes every packet as it arrives; the media clock
// pops one frame per tick and decodes, conceals or plays silence. When the
// packets stop, Pop conceals for MaxConceal (60 ms), then reports silence.
func Example() {
	b, err := jitter.New(jitter.Config{ClockRate: 8000, MaxPacket: 160})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := make([]byte, 160)
	for tick := range 10 {
		now := start.Add(time.Duration(tick) * 20 * time.Millisecond)
		// Packets 0..4 arrive 20 ms apart; packet 2 never does.
		if i := tick; i < 5 && i != 2 {
			b.Push(uint16(i), uint32(i*160), 0xcafe, i == 0, payload, now)
		}
		f := b.Pop(now.Add(5 * time.Millisecond))
		switch {
		case f.Payload != nil:
			fmt.Println("decode", f.Timestamp)
		case f.Lost:
			fmt.Println("conceal", f.Timestamp, "next buffered:", f.Next != nil)
		case f.Silence:
			fmt.Println("silence")
		}
	}
	// Output:
	// silence
	// decode 0
	// decode 160
	// conceal 320 next buffered: true
	// decode 480
	// decode 640
	// conceal 800 next buffered: false
	// conceal 960 next buffered: false
	// conceal 1120 next buffered: false
	// silence
}
