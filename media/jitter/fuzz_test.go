package jitter

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzBuffer feeds random sequences of pushes (sequence and timestamp steps,
// SSRC switches, markers, sizes, arrival times), pops, pauses and resets. Whatever the input,
// the buffer must not panic, must return every packet at most once, in
// strictly increasing timestamp order within a stream (no Lost frame going
// back in time either), exactly one kind per frame, and keep every slot
// accounted for (bounded memory). Seeds live in testdata/fuzz/FuzzBuffer.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 0, 0, 0, 0, 3, 2, 0, 0, 2, 0, 0})
	f.Add([]byte{1, 0, 1, 5, 0, 1, 0, 0, 0xff, 0x80, 2, 0, 0, 0x41, 3, 2, 2, 2, 2})
	f.Add([]byte{0x82, 0x40, 2, 3, 0x80, 0xfe, 4, 0xc1, 7, 9, 2, 2, 2, 2, 2, 2, 0x13, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cfg := Config{
			ClockRate:  []int{8000, 16000, 48000}[int(data[0]&3)%3],
			Disabled:   data[0]&4 != 0,
			MaxPacket:  64,
			MinDelay:   time.Duration(data[0]>>3&3) * 20 * time.Millisecond,
			MaxConceal: time.Duration(int(data[0]>>5&3)-1) * 40 * time.Millisecond,
		}
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		step := uint32(cfg.ClockRate / 50)
		var (
			now      = t0
			seq      = uint16(65530)
			ts       = 0 - 3*step
			ssrc     = uint32(1)
			id       uint32
			seen     = map[uint32]bool{}
			lastPlay uint32
			lastAny  uint32
			havePlay bool
			haveAny  bool
			payload  [64]byte
			data2    = data[1:]
		)
		remaining := func() bool { return len(data2) > 0 }
		nextByte := func() byte {
			if len(data2) == 0 {
				return 0
			}
			c := data2[0]
			data2 = data2[1:]
			return c
		}
		for remaining() {
			op := nextByte()
			switch op & 3 {
			case 0, 1: // push
				d := int8(nextByte())
				seq += uint16(d)
				ts += uint32(int32(d)) * step
				if op&0x80 != 0 {
					ts += uint32(nextByte()) * step // silence gap or jump
				}
				if op&0x20 != 0 && op&0x10 != 0 {
					ssrc++
					seq += 1000
					ts += 1 << 30
				}
				id++
				binary.BigEndian.PutUint32(payload[:], id)
				size := 4 + int(op>>2&3)*20
				at := now.Add(time.Duration(int8(nextByte())) * time.Millisecond)
				b.Push(seq, ts, ssrc, op&0x40 != 0, payload[:size], at)
			case 2: // pop
				f := b.Pop(now)
				now = now.Add(20 * time.Millisecond)
				kinds := 0
				if f.Payload != nil {
					kinds++
				}
				if f.Lost {
					kinds++
				}
				if f.Silence {
					kinds++
				}
				if kinds != 1 || f.Duration <= 0 {
					t.Fatalf("frame %+v", f)
				}
				if f.NewStream {
					havePlay, haveAny = false, false
				}
				if f.Payload != nil {
					if len(f.Payload) < 4 || len(f.Payload) > cfg.MaxPacket {
						t.Fatalf("payload of %d bytes", len(f.Payload))
					}
					pid := binary.BigEndian.Uint32(f.Payload)
					if seen[pid] {
						t.Fatalf("packet %d returned twice", pid)
					}
					seen[pid] = true
					if havePlay && int32(f.Timestamp-lastPlay) <= 0 {
						t.Fatalf("played timestamp %d after %d", f.Timestamp, lastPlay)
					}
					lastPlay, havePlay = f.Timestamp, true
				}
				if !f.Silence {
					if haveAny && int32(f.Timestamp-lastAny) < 0 {
						t.Fatalf("%+v: timestamp %d before %d", f, f.Timestamp, lastAny)
					}
					lastAny, haveAny = f.Timestamp, true
				}
			case 3: // time passes; sometimes the VAD hears a pause or the call is reset
				now = now.Add(time.Duration(nextByte()) * time.Millisecond)
				switch op {
				case 0xff:
					b.Reset()
				case 0x7f:
					b.SetQuiet(true)
				case 0x3f:
					b.SetQuiet(false)
				}
			}
			b.mu.Lock()
			lent := 0
			if b.lent >= 0 {
				lent = 1
			}
			if len(b.order)+len(b.free)+lent != len(b.slots) || cap(b.order) != len(b.slots) {
				t.Fatalf("slots leaked: %d buffered + %d free + %d lent of %d", len(b.order), len(b.free), lent, len(b.slots))
			}
			b.mu.Unlock()
		}
		_ = b.Stats()
	})
}
