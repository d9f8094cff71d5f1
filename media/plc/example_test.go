package plc_test

import (
	"fmt"
	"math"

	"github.com/hotline-ivr/hotline/media/plc"
)

// The playout path of a G.711 call: every decoded frame goes through Good,
// every frame the jitter buffer reports lost is filled by Conceal. The
// synthetic tone continues the real one and fades.
func Example() {
	c, err := plc.New(8000)
	if err != nil {
		panic(err)
	}
	frame := make([]int16, 160) // 20 ms at 8 kHz
	n := 0
	for i := range 10 {
		if i == 6 { // the jitter buffer said Lost
			c.Conceal(frame)
			fmt.Printf("frame %d concealed: peak %d in the first 10 ms, %d in the second\n",
				i, peak(frame[:80]), peak(frame[80:]))
			continue
		}
		for j := range frame { // "decode": a 150 Hz tone
			frame[j] = int16(8000 * math.Sin(2*math.Pi*150*float64(n+j)/8000))
		}
		c.Good(frame)
		n += len(frame)
	}
	// Output:
	// frame 6 concealed: peak 6980 in the first 10 ms, 3030 in the second
}

func peak(x []int16) int16 {
	var p int16
	for _, v := range x {
		p = max(p, v, -v)
	}
	return p
}
