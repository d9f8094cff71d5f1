package plc

import (
	"encoding/binary"
	"testing"
)

// FuzzConcealer plays random sequences of good frames (random samples,
// random lengths) and lost frames at every supported kind of rate. Nothing
// may panic, and an erasure longer than 60 ms must end in silence.
func FuzzConcealer(f *testing.F) {
	f.Add([]byte{0, 10, 1, 2, 3, 4, 0x81, 200, 0x81, 200, 0x81, 200, 5, 6})
	f.Add([]byte{2, 0xff, 0x7f, 0x80, 0x00, 0x81, 0x01, 0x81, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		rate := []int{8000, 16000, 22050, 48000}[data[0]%4]
		c, err := New(rate)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, 4*rate/50)
		lostFor := 0
		for data = data[1:]; len(data) >= 2; data = data[2:] {
			n := int(data[1]) * len(buf) / 256
			frame := buf[:n]
			if data[0]&0x80 != 0 {
				c.Conceal(frame)
				if lostFor >= silentUnits*c.unit { // 60 ms, in whole scaled 10 ms units
					for _, v := range frame {
						if v != 0 {
							t.Fatalf("sample %d after %d samples lost", v, lostFor)
						}
					}
				}
				lostFor += n
				continue
			}
			for i := range frame { // a deterministic pattern seeded by the input
				frame[i] = int16(binary.LittleEndian.Uint16([]byte{data[0] * byte(i), byte(i) ^ data[1]}))
			}
			c.Good(frame)
			lostFor = 0
		}
	})
}
