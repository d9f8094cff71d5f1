package rtcp

import (
	"bytes"
	"container/heap"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// endpoint is one side of a simulated call, wired the way doc.go tells the
// media session to wire this package.
type endpoint struct {
	ssrc  uint32
	cname []byte
	rx    ReceiverStats
	tx    SenderStats
	sched *Scheduler
	c     Compound // for received RTCP
	out   Compound // for sent RTCP
	buf   []byte
	peer  *endpoint
}

type event struct {
	at   time.Duration
	run  func(now time.Time)
	prio int // tie-break: insertion order
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].prio < q[j].prio)
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// TestSimulatedCall runs two endpoints for 60 s over a network that loses
// 2 % of RTP at random and delays every datagram by 30 ms plus a uniform
// 0-10 ms, exchanging RTCP as the Scheduler says, and checks what each side
// learns: loss 2 %, jitter E|U1-U2| = 10/3 ms, RTT 2 * 35 ms.
func TestSimulatedCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var q queue
	seq := 0
	at := func(d time.Duration, f func(time.Time)) {
		seq++
		heap.Push(&q, event{at: d, run: f, prio: seq})
	}
	delay := func() time.Duration {
		return 30*time.Millisecond + time.Duration(rng.Float64()*float64(10*time.Millisecond))
	}
	newEndpoint := func(ssrc uint32, cname string) *endpoint {
		s, err := NewScheduler(WithRandom(rng.Float64), WithBandwidth(545))
		if err != nil {
			t.Fatal(err)
		}
		return &endpoint{ssrc: ssrc, cname: []byte(cname), sched: s, buf: make([]byte, 1500)}
	}
	a, b := newEndpoint(0xaaaa, "hotline@ivr"), newEndpoint(0xbbbb, "caller@phone")
	a.peer, b.peer = b, a

	const duration = 60 * time.Second
	for _, e := range []*endpoint{a, b} {
		for i := 0; time.Duration(i)*20*time.Millisecond < duration; i++ {
			sentAt := time.Duration(i) * 20 * time.Millisecond
			at(sentAt, func(now time.Time) {
				// Per sent packet.
				s, ts := uint16(1000+i), uint32(i)*160
				e.tx.Update(e.ssrc, s, ts, 160, now, 8000)
				if rng.Float64() < 0.02 {
					return
				}
				at(sentAt+delay(), func(now time.Time) {
					// Per received packet.
					e.peer.rx.Update(e.ssrc, s, ts, now, 8000)
				})
			})
			at(sentAt, func(now time.Time) {
				// Per tick.
				if !e.sched.Due(now) {
					return
				}
				n := e.report(t, now)
				e.sched.Sent(n)
				pkt := bytes.Clone(e.buf[:n])
				at(now.Sub(t0)+delay(), func(now time.Time) { e.peer.receiveRTCP(t, pkt, now) })
			})
		}
	}
	for q.Len() > 0 {
		ev := heap.Pop(&q).(event)
		ev.run(t0.Add(ev.at))
	}

	for _, e := range []*endpoint{a, b} {
		quality := Quality{Codec: g711(t, true), JitterBuffer: 40 * time.Millisecond, Packetization: 20 * time.Millisecond}
		s := Summarize(&e.rx, &e.tx, quality)
		t.Logf("%x: %+v", e.ssrc, s)
		if s.PacketsSent != 3000 || s.OctetsSent != 480000 {
			t.Errorf("%x sent %d packets, %d octets", e.ssrc, s.PacketsSent, s.OctetsSent)
		}
		if math.Abs(s.LossPercent-2) > 0.8 || s.PacketsLost <= 0 {
			t.Errorf("%x loss %.2f %% (%d), want 2 %%", e.ssrc, s.LossPercent, s.PacketsLost)
		}
		if math.Abs(s.JitterMs-10.0/3) > 1 {
			t.Errorf("%x jitter %.2f ms, want 3.33", e.ssrc, s.JitterMs)
		}
		if !s.HasRTT || math.Abs(s.RTTMs-70) > 5 {
			t.Errorf("%x RTT %.2f ms (%v), want 70", e.ssrc, s.RTTMs, s.HasRTT)
		}
		// The peer's last report lags the end by up to one interval.
		if !s.HasRemote || math.Abs(s.RemoteLossPercent-e.peer.rx.LossPercent()) > 0.5 {
			t.Errorf("%x remote loss %.2f %%, peer measured %.2f %%", e.ssrc, s.RemoteLossPercent, e.peer.rx.LossPercent())
		}
		q := quality
		q.RTT = time.Duration(s.RTTMs * float64(time.Millisecond))
		q.LossPercent, q.BurstRatio = s.LossPercent, e.rx.BurstRatio()
		if r := RFactor(q); math.Abs(r-s.RFactor) > 0.01 || s.MOS != MOS(s.RFactor) {
			t.Errorf("%x R %.2f MOS %.2f, want R %.2f", e.ssrc, s.RFactor, s.MOS, r)
		}
		// 2 % random loss with PLC and 95 ms one-way: R about 84, MOS 4.1.
		if s.MOS < 4.0 || s.MOS > 4.25 || s.RemoteMOS < 4.0 || s.RemoteMOS > 4.25 {
			t.Errorf("%x MOS %.2f, remote %.2f, want about 4.1", e.ssrc, s.MOS, s.RemoteMOS)
		}
	}
}

// report builds and marshals this endpoint's compound packet at now.
func (e *endpoint) report(t *testing.T, now time.Time) int {
	c := &e.out
	block, haveBlock := e.rx.ReceptionReport(now)
	if e.tx.FillSenderReport(&c.SenderReport, now) {
		c.Report = TypeSenderReport
		if haveBlock {
			_ = c.SenderReport.AddReport(block)
		}
	} else {
		c.Report = TypeReceiverReport
		c.ReceiverReport = ReceiverReport{SSRC: e.ssrc}
		if haveBlock {
			_ = c.ReceiverReport.AddReport(block)
		}
	}
	c.HasSDES = true
	c.SourceDescription.Chunks[0] = SDESChunk{Source: e.ssrc, CNAME: e.cname}
	c.SourceDescription.ChunkCount = 1
	n, err := c.MarshalTo(e.buf)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// receiveRTCP handles a compound packet from the peer.
func (e *endpoint) receiveRTCP(t *testing.T, pkt []byte, now time.Time) {
	if err := e.c.Unmarshal(pkt); err != nil {
		t.Fatal(err)
	}
	if e.c.Report == TypeSenderReport {
		e.rx.ReceivedSenderReport(e.c.SenderReport.SSRC, e.c.SenderReport.NTPTime, now)
	}
	if b, ok := e.c.ReportAbout(e.ssrc); ok {
		e.tx.ReceivedReport(b, now)
	}
	if cn, ok := e.c.SourceDescription.CNAME(e.peer.ssrc); !ok || !bytes.Equal(cn, e.peer.cname) {
		t.Errorf("CNAME %q", cn)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	s := Summarize(nil, nil, Quality{})
	if s != (Summary{}) {
		t.Errorf("empty summary %+v", s)
	}
	var rx ReceiverStats
	var tx SenderStats
	s = Summarize(&rx, &tx, Quality{Codec: g711(t, true)})
	if s.MOS != 0 || s.HasRTT || s.HasRemote {
		t.Errorf("no media: %+v", s)
	}
}

func TestSummaryLogValue(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	s := Summary{PacketsSent: 10, PacketsReceived: 9, PacketsLost: 1, LossPercent: 10, JitterMs: 2.5,
		MOS: 4.123, HasRTT: true, RTTMs: 42, HasRemote: true, RemoteMOS: 3.999}
	log.Info("call ended", "quality", s)
	got := out.String()
	for _, want := range []string{"quality.sent=10", "quality.lost=1", "quality.mos=4.12", "quality.rtt_ms=42", "quality.remote_mos=4"} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
}
