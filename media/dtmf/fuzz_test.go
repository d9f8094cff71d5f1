package dtmf

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzParseEvent checks that ParseEvent never panics and that whatever it
// accepts, MarshalTo writes back identically except for the R bit, which
// receivers ignore and senders clear (RFC 4733 §2.3.3).
func FuzzParseEvent(f *testing.F) {
	for _, seed := range [][]byte{
		{0x01, 0x0a, 0x00, 0x00}, {0x01, 0x8a, 0x08, 0xc0}, {0x0b, 0x4a, 0x01, 0x40},
		{0x10, 0x80, 0x06, 0x40}, {0x20, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {1, 2, 3},
		{}, {0x05, 0x0a, 0x00, 0xa0, 0x06, 0x0a, 0x00, 0xa0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := ParseEvent(payload)
		switch {
		case len(payload) < EventSize:
			if !errors.Is(err, ErrShortPayload) || ev != (Event{}) {
				t.Fatalf("short payload: %+v, %v", ev, err)
			}
			return
		case err != nil && !errors.Is(err, ErrUnknownEvent):
			t.Fatalf("unexpected error %v", err)
		case (err == nil) != (ev.Code <= CodeFlash):
			t.Fatalf("code %d with error %v", ev.Code, err)
		}
		var out [EventSize]byte
		if n, err := ev.MarshalTo(out[:]); err != nil || n != EventSize {
			t.Fatalf("MarshalTo(%+v) = %d, %v", ev, n, err)
		}
		want := [EventSize]byte(payload[:EventSize])
		want[1] &^= 0x40
		if out != want {
			t.Fatalf("MarshalTo = %x, want %x", out, want)
		}
	})
}

// FuzzReceiver drives a Receiver with arbitrary packet sequences and checks
// that it never panics, reports only digits, holds at most one digit between
// calls, and never reports more digits than there were distinct events: a
// digit is only ever reported once per (SSRC, timestamp).
//
// Each 8-octet group of the input is one step:
//
//	[0] op: bit 0-1 == 3 → Expire, bits 0-2 == 7 → Flush, else Push;
//	    bit 7 → payload truncated to bits 4-5 octets
//	[1] bit 0: SSRC A or B; bits 1-7: milliseconds since the previous step
//	[2:4] timestamp offset; timestamps span under 2^31, starting just
//	    below the 32-bit wrap, so serial order is a total order
//	[4:8] payload, with the event code reduced mod 18 (0-17, 17 unknown)
func FuzzReceiver(f *testing.F) {
	f.Add(scriptBytes(press(0, 0x100, 5, 0)))
	f.Add(scriptBytes(append(press(0, 0xff00, 1, 0)[:5], press(1, 0x0100, 1, 0)...)))
	f.Add([]byte{
		0, 0x20, 0, 0, 1, 0x0a, 0, 0, // A ts 0 digit 1
		0, 0x21, 0, 1, 2, 0x8a, 3, 0x20, // B ts 1 digit 2 end
		3, 0x00, 0, 0, 0, 0, 0, 0, // Expire
		7, 0x00, 0, 0, 0, 0, 0, 0, // Flush
		0x80, 0, 0, 0, 0, 0, 0, 0, // empty payload
	})
	f.Fuzz(func(t *testing.T, script []byte) {
		const base = 0xffff8000
		var r Receiver
		now := t0
		events := map[[2]uint32]bool{}
		reported := 0
		report := func(d byte, ok bool) {
			if !ok {
				return
			}
			if _, valid := CodeFromDigit(d); !valid || d >= 'a' {
				t.Fatalf("reported %q, not a digit", d)
			}
			reported++
		}
		for ; len(script) >= 8; script = script[8:] {
			op := script[0]
			ssrc := uint32(ssrcA)
			if script[1]&1 != 0 {
				ssrc = ssrcB
			}
			now = now.Add(time.Duration(script[1]>>1) * time.Millisecond)
			ts := uint32(base) + uint32(script[2])<<8 | uint32(script[3])
			payload := []byte{script[4] % 18, script[5], script[6], script[7]}
			if op&0x80 != 0 {
				payload = payload[:(op>>4)&3]
			}
			switch {
			case op&7 == 7:
				report(r.Flush())
			case op&3 == 3:
				report(r.Expire(now))
			default:
				d, ok, err := r.Push(ssrc, ts, payload, now)
				if err != nil {
					if ok {
						t.Fatal("digit reported with an error")
					}
					break
				}
				events[[2]uint32{ssrc, ts}] = true
				report(d, ok)
			}
			if r.queued > 1 {
				t.Fatalf("%d digits held between calls", r.queued)
			}
			if reported > len(events) {
				t.Fatalf("%d digits reported for %d distinct events", reported, len(events))
			}
		}
		for range 3 {
			report(r.Flush())
		}
		if _, ok := r.Flush(); ok {
			t.Fatal("Flush still reporting after draining")
		}
		if reported > len(events) {
			t.Fatalf("%d digits reported for %d distinct events", reported, len(events))
		}
	})
}

// scriptBytes encodes scripted packets in FuzzReceiver's step format,
// using the packets' ssrc field (0 or 1) to choose the stream.
func scriptBytes(ps []pkt) []byte {
	var b []byte
	prev := 0
	for _, p := range ps {
		dt := byte(min(max(p.ms-prev, 0), 127))
		prev = p.ms
		b = append(b, 0, dt<<1|byte(p.ssrc&1), byte(p.ts>>8), byte(p.ts))
		b = append(b, p.payload...)
	}
	return b
}

// FuzzParseInfo checks that ParseInfo never panics, returns only digits, and
// that every digit it accepts survives FormatInfo and ParseInfo again.
func FuzzParseInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("Application/DTMF-Relay; x=y", []byte(" signal = 11 \nDURATION=99999\n"))
	f.Add("application/dtmf", []byte("*"))
	f.Add("application/dtmf-relay", []byte("Duration=160\r\n"))
	f.Add("application/sdp", []byte("v=0"))
	f.Add("application/dtmf-relay", []byte("Signal=\r\n=\r\n==\r\nSignal=16"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		orig := bytes.Clone(body)
		digit, dur, err := ParseInfo(ct, body)
		if !bytes.Equal(body, orig) {
			t.Fatal("ParseInfo modified the body")
		}
		if err != nil {
			if digit != 0 || dur != 0 {
				t.Fatalf("result %q %v with error %v", digit, dur, err)
			}
			return
		}
		if _, ok := CodeFromDigit(digit); !ok || digit >= 'a' {
			t.Fatalf("digit %q", digit)
		}
		if dur < 0 || dur > 999999999*time.Millisecond {
			t.Fatalf("duration %v", dur)
		}
		if dur > maxDuration {
			return // readable but beyond what FormatInfo writes
		}
		ct2, body2, err := FormatInfo(digit, dur)
		if err != nil {
			t.Fatalf("FormatInfo(%q, %v): %v", digit, dur, err)
		}
		d2, dur2, err := ParseInfo(ct2, body2)
		if err != nil || d2 != digit || dur2 != dur {
			t.Fatalf("round trip: %q %v %v, want %q %v", d2, dur2, err, digit, dur)
		}
	})
}

// FuzzSender checks that any Start the Sender accepts produces a finite,
// well-formed packet sequence that a Receiver turns into exactly that digit.
func FuzzSender(f *testing.F) {
	f.Add(byte('5'), int64(100*time.Millisecond), 8000, 20)
	f.Add(byte('#'), int64(time.Millisecond), 48000, 10)
	f.Add(byte('a'), int64(8*time.Second), 8000, 60)
	f.Add(byte('x'), int64(-1), 0, 0)
	f.Fuzz(func(t *testing.T, digit byte, dur int64, clockRate, ptime int) {
		var s Sender
		if err := s.Start(digit, time.Duration(dur), clockRate, ptime); err != nil {
			if s.Active() {
				t.Fatal("Active after failed Start")
			}
			return
		}
		out := drain(t, &s)
		var r Receiver
		var got []byte
		ends := 0
		for i, p := range out {
			if p.marker != (i == 0) {
				t.Fatalf("packet %d marker %v", i, p.marker)
			}
			if p.ev.End {
				ends++
			} else if ends > 0 {
				t.Fatalf("update after end packet")
			}
			var buf [EventSize]byte
			_, _ = p.ev.MarshalTo(buf[:])
			if d, ok, err := r.Push(1, 1, buf[:], t0); err != nil {
				t.Fatal(err)
			} else if ok {
				got = append(got, d)
			}
		}
		want, _ := DigitFromCode(out[0].ev.Code)
		if ends != endRepeats || string(got) != string(want) {
			t.Fatalf("%d ends, received %q, want %q", ends, got, want)
		}
	})
}
