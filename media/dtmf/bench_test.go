package dtmf

import (
	"testing"
	"time"
)

// BenchmarkReceiverPush replays a steady stream of key presses as a media
// loop would: start, updates, three ends, next key press.
func BenchmarkReceiverPush(b *testing.B) {
	var payloads [8][]byte
	for i := range 5 {
		payloads[i] = pl(5, false, uint16(160*i))
	}
	for i := 5; i < 8; i++ {
		payloads[i] = pl(5, true, 800)
	}
	var r Receiver
	now := t0
	ts := uint32(0)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Push(1, ts, payloads[i], now); err != nil {
			b.Fatal(err)
		}
		now = now.Add(20 * time.Millisecond)
		if i++; i == len(payloads) {
			i = 0
			ts += 1600
		}
	}
}

func BenchmarkReceiverExpire(b *testing.B) {
	var r Receiver
	p := pl(5, false, 160)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(20 * time.Millisecond)
		_, _, _ = r.Push(1, 1, p, now)
		r.Expire(now)
	}
}

// BenchmarkSenderNext measures one packet time of sending: Start once per
// key press, Next every 20 ms.
func BenchmarkSenderNext(b *testing.B) {
	var s Sender
	buf := make([]byte, 172)
	b.ReportAllocs()
	for b.Loop() {
		if !s.Active() {
			if err := s.Start('5', 100*time.Millisecond, 8000, 20); err != nil {
				b.Fatal(err)
			}
		}
		if n, _, _ := s.Next(buf); n != EventSize {
			b.Fatal("no packet")
		}
	}
}

func BenchmarkParseEvent(b *testing.B) {
	p := pl(5, true, 800)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEvent(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInfo(b *testing.B) {
	body := []byte("Signal=5\r\nDuration=160\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseInfo("application/dtmf-relay", body); err != nil {
			b.Fatal(err)
		}
	}
}
