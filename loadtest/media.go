package loadtest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// The generator's RTP runs on a pool of a few sockets shared by all calls, so that it
// stays far cheaper than the engine it loads: each socket has one clock goroutine
// that paces the outgoing packets of its streams and sends each tick's packets in one
// batched system call (sendmmsg on Linux), and one receive goroutine that reads
// batches (recvmmsg) with the kernel's arrival timestamps and hands each packet to
// its stream by the engine's source port. The engine gives every call a port of its
// own, so the source port identifies the call without any lock shared by all calls.

const (
	// maxBatch is the most packets one batched system call carries.
	maxBatch = 512
	// slotSize is the room for one outgoing packet: a G.711 frame is 172 octets, an
	// Opus one at most a few hundred.
	slotSize = 512
	// recvBatch is how many datagrams one receive call may return.
	recvBatch = 64
	// recvSize is the receive buffer per datagram: anything larger than an MTU is not
	// a packet this generator expects.
	recvSize = 2048
	// socketBuffer is SO_RCVBUF/SO_SNDBUF: a tick's burst for thousands of calls must
	// not be dropped by the kernel (TESTING.md: 4 MiB kept a 2,000-datagram burst).
	socketBuffer = 4 << 20
	// maxCatchUp bounds the frames one stream sends in one tick after a late wake-up.
	maxCatchUp = 5
	// resyncAfter is how far behind a stream may fall before it skips frames instead
	// of bursting them.
	resyncAfter = 200 * time.Millisecond
)

// mediaPool owns the RTP sockets and their goroutines.
type mediaPool struct {
	socks   []*rtpSocket
	next    atomic.Uint32
	ptime   time.Duration
	tick    time.Duration
	startNs int64 // origin of the jitter time series
	log     *slog.Logger

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// newMediaPool binds n sockets on ip and starts their clock and receive goroutines.
// tick is the clock granularity: streams start at random phases of the packet time,
// as real callers do, and each is sent at the first tick at or after its due time.
func newMediaPool(ip netip.Addr, n int, tick, ptime time.Duration, start time.Time, log *slog.Logger) (*mediaPool, error) {
	p, err := bindMediaPool(ip, n, tick, ptime, start, log)
	if err != nil {
		return nil, err
	}
	for _, s := range p.socks {
		p.wg.Add(2)
		go func() { defer p.wg.Done(); s.runClock() }()
		go func() { defer p.wg.Done(); s.runReceive() }()
	}
	return p, nil
}

// bindMediaPool binds the sockets without starting their goroutines, so benchmarks
// can drive the packet paths themselves.
func bindMediaPool(ip netip.Addr, n int, tick, ptime time.Duration, start time.Time, log *slog.Logger) (*mediaPool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &mediaPool{ptime: ptime, tick: tick, startNs: start.UnixNano(), log: log, stop: make(chan struct{})}
	for range n {
		s := &rtpSocket{pool: p}
		local, err := s.io.open(ip, p.stop, tick)
		if err != nil {
			s.io.close()
			p.close()
			return nil, fmt.Errorf("loadtest: RTP socket: %w", err)
		}
		s.local = local
		empty := []*stream{}
		s.streams.Store(&empty)
		p.socks = append(p.socks, s)
	}
	return p, nil
}

// pick returns the socket for a new call, round robin.
func (p *mediaPool) pick() *rtpSocket {
	return p.socks[int(p.next.Add(1))%len(p.socks)]
}

// close stops the goroutines and closes the sockets; it is idempotent.
func (p *mediaPool) close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		for _, s := range p.socks {
			s.io.stopReceive() // where closing stop does not end it
		}
		p.wg.Wait()
		for _, s := range p.socks {
			s.io.close()
		}
	})
}

// aggregate merges the receive statistics of every socket.
func (p *mediaPool) aggregate() rxAggregate {
	var out rxAggregate
	for _, s := range p.socks {
		s.aggMu.Lock()
		out.merge(&s.agg)
		s.aggMu.Unlock()
	}
	return out
}

// counters returns packets sent and received so far by every socket.
func (p *mediaPool) counters() (sent, received uint64) {
	for _, s := range p.socks {
		sent += s.sent.Load()
		received += s.received.Load()
	}
	return sent, received
}

// rtpSocket is one socket of the pool with the streams it carries.
type rtpSocket struct {
	pool  *mediaPool
	local netip.AddrPort
	io    batchIO

	// demux finds a stream by the port its packets come from. Writers are the call
	// goroutines (register, unregister); the receive goroutine only loads.
	demux [1 << 16]atomic.Pointer[stream]

	mu      sync.Mutex // serialises writers of streams; the clock loads the snapshot
	streams atomic.Pointer[[]*stream]

	tx sendBatch // owned by the clock goroutine

	// aggMu guards agg: the receive goroutine holds it while it handles one batch,
	// the monitor briefly once a second.
	aggMu sync.Mutex
	agg   rxAggregate

	sent, received atomic.Uint64
}

// register makes st receive the packets from its remote port and be paced by this
// socket's clock.
func (s *rtpSocket) register(st *stream) {
	s.demux[st.remote.Port()].Store(st)
	if !st.sending {
		return
	}
	s.mu.Lock()
	old := *s.streams.Load()
	list := make([]*stream, len(old), len(old)+1)
	copy(list, old)
	list = append(list, st)
	s.streams.Store(&list)
	s.mu.Unlock()
}

// unregister stops st's packets both ways. The clock may tick st once more (it
// checks closed); a packet already being handled completes under st.rxMu, which the
// caller takes afterwards to read the results.
func (s *rtpSocket) unregister(st *stream) {
	st.closed.Store(true)
	s.demux[st.remote.Port()].CompareAndSwap(st, nil)
	if !st.sending {
		return
	}
	s.mu.Lock()
	old := *s.streams.Load()
	list := make([]*stream, 0, len(old))
	for _, o := range old {
		if o != st {
			list = append(list, o)
		}
	}
	s.streams.Store(&list)
	s.mu.Unlock()
}

// runClock paces the outgoing packets of the socket's streams.
func (s *rtpSocket) runClock() {
	t := time.NewTicker(s.pool.tick)
	defer t.Stop()
	ptime := int64(s.pool.ptime)
	for {
		select {
		case <-s.pool.stop:
			return
		case <-t.C:
		}
		s.tickAt(time.Now().UnixNano(), ptime)
	}
}

// tickAt emits every frame due at now and sends them. Tests call it with chosen times.
func (s *rtpSocket) tickAt(now, ptime int64) {
	for _, st := range *s.streams.Load() {
		st.emit(now, ptime, s)
	}
	s.flush()
}

// flush sends the batched packets.
func (s *rtpSocket) flush() {
	if s.tx.n == 0 {
		return
	}
	n, err := s.io.send(&s.tx)
	s.sent.Add(uint64(n))
	if err != nil && !errors.Is(err, net.ErrClosed) {
		s.aggMu.Lock()
		s.agg.sendErrors += uint64(s.tx.n - n)
		s.aggMu.Unlock()
	}
	s.tx.n = 0
}

// runReceive reads batches of datagrams until the socket closes.
func (s *rtpSocket) runReceive() {
	for {
		if err := s.io.receive(s.deliverBatch); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.pool.log.Warn("loadtest: RTP receive stopped", "socket", s.local.String(), "error", err)
			}
			return
		}
	}
}

// deliverBatch hands each datagram of a received batch to its stream.
func (s *rtpSocket) deliverBatch(b *recvBatchView) {
	s.aggMu.Lock()
	for i := range b.n {
		s.deliver(b.pkt(i), b.from[i], b.at[i])
	}
	s.aggMu.Unlock()
	s.received.Add(uint64(b.n))
}

// deliver handles one datagram; the caller holds aggMu.
func (s *rtpSocket) deliver(pkt []byte, from netip.AddrPort, at int64) {
	if rtp.IsRTCP(pkt) {
		s.agg.rtcp++ // the engine's reports: counted, not judged
		return
	}
	st := s.demux[from.Port()].Load()
	if st == nil || st.remote.Addr() != from.Addr() {
		s.agg.stray++ // a call already gone, or not yet registered
		return
	}
	st.receive(pkt, at, &s.agg, s.pool.startNs)
}

// sendBatch collects one tick's outgoing packets in one buffer, so the clock writes
// them with one system call.
type sendBatch struct {
	n    int
	buf  [maxBatch * slotSize]byte
	lens [maxBatch]int
	dst  [maxBatch]netip.AddrPort
}

// slot returns the buffer for the next packet.
func (b *sendBatch) slot() []byte {
	return b.buf[b.n*slotSize : (b.n+1)*slotSize]
}

// commit records the packet of size n written to slot() for dst.
func (b *sendBatch) commit(n int, dst netip.AddrPort) {
	b.lens[b.n] = n
	b.dst[b.n] = dst
	b.n++
}

// full reports whether no slot is left.
func (b *sendBatch) full() bool { return b.n == maxBatch }

// recvBatchView is what a platform receive call returns: n datagrams with their
// source and arrival time (ns since the Unix epoch).
type recvBatchView struct {
	n    int
	buf  [recvBatch * recvSize]byte
	lens [recvBatch]int
	from [recvBatch]netip.AddrPort
	at   [recvBatch]int64
}

func (b *recvBatchView) pkt(i int) []byte {
	return b.buf[i*recvSize : i*recvSize+b.lens[i]]
}

// rxAggregate totals what the socket received for all its calls: the gap
// distribution, a per-second jitter series and packets it could not attribute.
type rxAggregate struct {
	gaps       histogram
	series     []seriesBucket
	stray      uint64
	rtcp       uint64
	malformed  uint64
	sendErrors uint64
}

// seriesBucket is one second of the jitter time series.
type seriesBucket struct {
	jitterSum float64 // sum of the streams' current jitter (ns) over packets
	n         uint64
	maxJitter float64
	maxGap    int64
}

// add records a packet's jitter estimate and gap in the second of at.
func (a *rxAggregate) add(at, startNs int64, jitter float64, gap int64) {
	a.gaps.add(gap)
	sec := max(0, (at-startNs)/int64(time.Second))
	for int64(len(a.series)) <= sec {
		a.series = append(a.series, seriesBucket{}) // once a second: not per packet
	}
	b := &a.series[sec]
	b.jitterSum += jitter
	b.n++
	b.maxJitter = max(b.maxJitter, jitter)
	b.maxGap = max(b.maxGap, gap)
}

func (a *rxAggregate) merge(o *rxAggregate) {
	a.gaps.merge(&o.gaps)
	for len(a.series) < len(o.series) {
		a.series = append(a.series, seriesBucket{})
	}
	for i, b := range o.series {
		d := &a.series[i]
		d.jitterSum += b.jitterSum
		d.n += b.n
		d.maxJitter = max(d.maxJitter, b.maxJitter)
		d.maxGap = max(d.maxGap, b.maxGap)
	}
	a.stray += o.stray
	a.rtcp += o.rtcp
	a.malformed += o.malformed
	a.sendErrors += o.sendErrors
}
