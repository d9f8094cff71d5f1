package media

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// A scripted RTP source for the end-to-end tests: the caller's side of a call, built
// slot by slot (one slot per 20 ms) and then played in real time over loopback through
// an impairment stage, since these machines have no netem.

// slot is what the caller sends in one 20 ms packet time: usually one RTP packet, plus
// any garbage datagrams the script adds.
type slot struct {
	pkts    [][]byte // impaired: lost, duplicated, reordered
	garbage [][]byte // sent as they are
}

// script builds a caller's stream.
type script struct {
	t      testing.TB
	c      codec.Codec
	pt     uint8
	dtmfPT uint8
	enc    codec.Encoder
	spf    int
	tspf   uint32
	seq    uint16
	ts     uint32
	ssrc   uint32
	phase  int
	slots  []slot
	buf    []byte
}

func newScript(t testing.TB, c codec.Codec, pt uint8) *script {
	t.Helper()
	enc, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return &script{t: t, c: c, pt: pt, dtmfPT: 101, enc: enc, spf: c.SampleRate() / 50,
		tspf: uint32(c.ClockRate() / 50), seq: 1000, ts: 5000, ssrc: 0xCA11E4, buf: make([]byte, 1500)}
}

func (s *script) packet(pt uint8, marker bool, ts uint32, payload []byte) []byte {
	pkt := buildRTP(rtp.Header{PayloadType: pt, Marker: marker, SequenceNumber: s.seq, Timestamp: ts, SSRC: s.ssrc}, payload)
	s.seq++
	return pkt
}

// pcm sends frames of audio from gen (called with the frame to fill).
func (s *script) pcm(frames int, gen func(frame []int16)) *script {
	frame := make([]int16, s.spf)
	for range frames {
		gen(frame)
		n, err := s.enc.Encode(s.buf, frame)
		if err != nil {
			s.t.Fatal(err)
		}
		s.slots = append(s.slots, slot{pkts: [][]byte{s.packet(s.pt, false, s.ts, s.buf[:n])}})
		s.ts += s.tspf
	}
	return s
}

// tone sends frames of a continuous 1 kHz tone.
func (s *script) tone(frames int) *script {
	rate := s.c.SampleRate()
	return s.pcm(frames, func(f []int16) {
		copy(f, toneAt(1000, 8000, rate, s.phase+len(f))[s.phase:])
		s.phase = (s.phase + len(f)) % rate
	})
}

// silence sends frames of digital silence.
func (s *script) silence(frames int) *script {
	return s.pcm(frames, func(f []int16) { clear(f) })
}

// digits sends each digit as an RFC 4733 event in place of audio (100 ms: seven
// packets, the end three times), then 80 ms of tone before the next.
func (s *script) digits(ds string) *script {
	for i := range len(ds) {
		var snd dtmf.Sender
		if err := snd.Start(ds[i], 100*time.Millisecond, s.c.ClockRate(), 20); err != nil {
			s.t.Fatal(err)
		}
		start := s.ts
		ev := make([]byte, dtmf.EventSize)
		for {
			n, marker, done := snd.Next(ev)
			s.slots = append(s.slots, slot{pkts: [][]byte{s.packet(s.dtmfPT, marker, start, ev[:n])}})
			s.ts += s.tspf
			if done {
				break
			}
		}
		s.tone(4)
	}
	return s
}

// jumpTS makes the sender's timestamps jump (a restarted or broken sender).
func (s *script) jumpTS(d uint32) *script { s.ts += d; return s }

// newSSRC switches to a new stream mid-call: new SSRC, sequence and timestamp base.
func (s *script) newSSRC() *script {
	s.ssrc, s.seq, s.ts = 0x5EC0AD, 20000, 3_000_000_000
	return s
}

// garbage adds datagrams that are not usable RTP to the last slot: too short, wrong
// version, an unknown payload type. It returns how many it added.
func (s *script) garbage() int {
	last := &s.slots[len(s.slots)-1]
	last.garbage = append(last.garbage,
		[]byte{0x80, 0x00, 0x01},
		append([]byte{0x40, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 160)...),
		buildRTP(rtp.Header{PayloadType: 18, SequenceNumber: 1, SSRC: s.ssrc}, make([]byte, 20)),
	)
	return 3
}

// impairment is what the simulated network does to each packet of the script.
type impairment struct {
	loss, dup, reorder float64 // probabilities per packet
	seed               uint64
}

// play sends the script from p to "to" in real time, one slot every 20 ms, through imp.
// Reordered packets are held back one slot (20 ms late, after the next packet).
func (s *script) play(p *peer, to netip.AddrPort, imp impairment) (lost, duplicated, reordered int) {
	s.t.Helper()
	rng := rand.New(rand.NewPCG(imp.seed, 7))
	var held []byte
	start := time.Now()
	for i, sl := range s.slots {
		if d := time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
		for _, pkt := range sl.pkts {
			switch r := rng.Float64(); {
			case r < imp.loss:
				lost++
				continue
			case r < imp.loss+imp.reorder && held == nil:
				held = pkt
				reordered++
				continue
			}
			p.sendRaw(to, pkt)
			if held != nil {
				p.sendRaw(to, held)
				held = nil
			}
			if rng.Float64() < imp.dup {
				p.sendRaw(to, pkt)
				duplicated++
			}
		}
		for _, g := range sl.garbage {
			p.sendRaw(to, g)
		}
	}
	if held != nil {
		p.sendRaw(to, held)
	}
	return lost, duplicated, reordered
}

// duration is how long the script takes to play.
func (s *script) duration() time.Duration { return time.Duration(len(s.slots)) * 20 * time.Millisecond }
