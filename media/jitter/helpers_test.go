package jitter

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// The tests drive a Buffer with explicit times: a simulated sender produces
// packets with send times, a simulated network gives each an arrival time,
// and the media clock pops at a fixed period. Nothing sleeps.

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	ptime = 20 * time.Millisecond
	g711  = 160 // timestamp step of 20 ms at 8 kHz
)

// pkt is one simulated RTP packet.
type pkt struct {
	id     int // unique per test, carried in the payload
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool
	sent   time.Time
	at     time.Time // arrival
}

// sender numbers packets like an RTP source.
type sender struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	step uint32 // timestamp increment per packet
	dur  time.Duration
	t    time.Time
	id   *int
}

func newSender(seq uint16, ts, ssrc uint32, ids *int) *sender {
	return &sender{seq: seq, ts: ts, ssrc: ssrc, step: g711, dur: ptime, t: t0, id: ids}
}

// talk sends n packets, the first with the marker bit when marker is set.
func (s *sender) talk(n int, marker bool) []pkt {
	out := make([]pkt, 0, n)
	for i := range n {
		*s.id++
		out = append(out, pkt{id: *s.id, seq: s.seq, ts: s.ts, ssrc: s.ssrc, marker: marker && i == 0, sent: s.t, at: s.t})
		s.seq++
		s.ts += s.step
		s.t = s.t.Add(s.dur)
	}
	return out
}

// pause advances time and timestamps without sending (silence suppression).
func (s *sender) pause(frames int) {
	s.ts += uint32(frames) * s.step
	s.t = s.t.Add(time.Duration(frames) * s.dur)
}

// arrive gives every packet the arrival time sent+transit(i) and returns
// them in arrival order.
func arrive(ps []pkt, transit func(i int, p pkt) time.Duration) []pkt {
	for i := range ps {
		ps[i].at = ps[i].sent.Add(transit(i, ps[i]))
	}
	slices.SortStableFunc(ps, func(a, b pkt) int { return a.at.Compare(b.at) })
	return ps
}

func constant(d time.Duration) func(int, pkt) time.Duration {
	return func(int, pkt) time.Duration { return d }
}

// payloadOf builds a recognisable payload: the packet id, then filler.
func payloadOf(p pkt, size int) []byte {
	buf := make([]byte, max(size, 4))
	binary.BigEndian.PutUint32(buf, uint32(p.id))
	return buf
}

func idOf(payload []byte) int {
	if len(payload) < 4 {
		return -1
	}
	return int(binary.BigEndian.Uint32(payload))
}

// out is one popped frame, with copies of what the buffer lends.
type out struct {
	Frame
	at   time.Time
	id   int // packet id when played
	next int // packet id of Next, or 0
}

func (o out) kind() string {
	switch {
	case o.Payload != nil:
		return "play"
	case o.Lost:
		return "lost"
	case o.Silence:
		return "silence"
	}
	return "?"
}

// run pushes ps (in order, at their arrival times) and pops every period
// from popFrom until until, interleaving by time; pushes at the same
// instant as a pop go first.
func run(t testing.TB, b *Buffer, ps []pkt, popFrom time.Time, period time.Duration, until time.Time) []out {
	t.Helper()
	s := &sim{b: b, ps: ps, now: popFrom, period: period}
	return s.until(until)
}

// sim is a resumable run: until pops up to a time and can be called again.
type sim struct {
	b      *Buffer
	ps     []pkt
	i      int
	now    time.Time // next pop
	period time.Duration
}

func (s *sim) until(end time.Time) []out {
	var res []out
	for ; !s.now.After(end); s.now = s.now.Add(s.period) {
		for ; s.i < len(s.ps) && !s.ps[s.i].at.After(s.now); s.i++ {
			p := s.ps[s.i]
			s.b.Push(p.seq, p.ts, p.ssrc, p.marker, payloadOf(p, 160), p.at)
		}
		f := s.b.Pop(s.now)
		o := out{Frame: f, at: s.now, id: -1}
		if f.Payload != nil {
			o.id = idOf(f.Payload)
			o.Payload = slices.Clone(f.Payload)
		}
		if f.Next != nil {
			o.next = idOf(f.Next)
			o.Next = slices.Clone(f.Next)
		}
		res = append(res, o)
	}
	return res
}

func mustNew(t testing.TB, cfg Config) *Buffer {
	t.Helper()
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// played returns the ids of the played frames in order.
func played(os []out) []int {
	var ids []int
	for _, o := range os {
		if o.Payload != nil {
			ids = append(ids, o.id)
		}
	}
	return ids
}

// checkOrder fails when a packet is played twice or, within one stream,
// out of timestamp order.
func checkOrder(t testing.TB, os []out) {
	t.Helper()
	seen := map[int]bool{}
	var last uint32
	var have bool
	for i, o := range os {
		if o.NewStream {
			have = false
		}
		if o.Payload == nil {
			continue
		}
		if seen[o.id] {
			t.Fatalf("frame %d: packet %d played twice", i, o.id)
		}
		seen[o.id] = true
		if have && int32(o.Timestamp-last) <= 0 {
			t.Fatalf("frame %d: timestamp %d after %d", i, o.Timestamp, last)
		}
		last, have = o.Timestamp, true
	}
}

// counts tallies frame kinds.
func counts(os []out) (play, lost, silence int) {
	for _, o := range os {
		switch o.kind() {
		case "play":
			play++
		case "lost":
			lost++
		case "silence":
			silence++
		}
	}
	return
}

// byID indexes packets by id.
func byID(ps []pkt) map[int]pkt {
	m := make(map[int]pkt, len(ps))
	for _, p := range ps {
		m[p.id] = p
	}
	return m
}
