//go:build linux

package media

import (
	"flag"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// receiveModes are the two ways a shard reads its sockets: the epoll listing and,
// where the kernel has them, multishot reads.
var receiveModes = []struct {
	name      string
	multishot bool
}{{"listing", false}, {"multishot", true}}

// forEachReceiveMode runs f as a subtest in each receive mode.
func forEachReceiveMode(t *testing.T, f func(t *testing.T, multishot bool)) {
	for _, m := range receiveModes {
		t.Run(m.name, func(t *testing.T) { f(t, m.multishot) })
	}
}

// multishotHere switches the shard of a manual-clock engine to multishot reads on the
// test goroutine's thread, which stays locked for the rest of the test: the test's
// ticks (readTick, manual.shardTick) then come from the ring's one issuer.
func multishotHere(t testing.TB, e *Engine) {
	t.Helper()
	if err := lockForMultishot(e.clock.shards[0].rx); err != nil {
		t.Fatalf("multishot reads are unavailable on this machine: %v", err)
	}
}

// closeTicking closes s while the test goroutine, the ring's issuer, ticks its shard:
// a multishot read is cancelled only at a tick.
func closeTicking(t testing.TB, s *Session) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Close()
	}()
	for {
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
			s.shard.tick(time.Now())
		}
	}
}

// batchedReceivers opens n sessions on a one-shard manual-clock engine whose shard
// reads their sockets (with multishot reads if asked), each configured towards a peer
// of its own.
func batchedReceivers(t testing.TB, n int, cfg Config, multishot bool) ([]*Session, []*peer) {
	t.Helper()
	cfg.ClockShards = 1
	e, _ := newTestEngine(t, cfg, withManualClock(), withBatchedReceive())
	if !e.clock.reads() {
		t.Fatal("the clock does not read the RTP sockets: io_uring is unavailable on this machine (see the engine's log)")
	}
	if multishot {
		multishotHere(t, e)
	}
	ss, prs := make([]*Session, n), make([]*peer, n)
	for i := range n {
		prs[i] = newPeer(t, "127.0.0.1")
		ss[i] = newTestSession(t, e)
		if ss[i].raw == nil || ss[i].conn != nil {
			t.Fatal("a session of a reading clock has no raw socket")
		}
		if err := ss[i].Configure(pcmu(prs[i].addr)); err != nil {
			t.Fatal(err)
		}
	}
	if multishot {
		// Before the sessions' own cleanups (later cleanups run first).
		t.Cleanup(func() {
			for _, s := range ss {
				closeTicking(t, s)
			}
		})
	}
	return ss, prs
}

// readTick runs one tick of the sessions' shard at the current time.
func readTick(s *Session) { s.shard.tick(time.Now()) }

// TestBatchedReceiveBursts: the shard reads every datagram that reached a socket since
// the last tick, in order, bursts included; a burst larger than one tick's reads is
// finished on the next ticks, none lost, and a quiet socket next to it is not held up.
func TestBatchedReceiveBursts(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 3, Config{}, multishot)
		busy, single, quiet := ss[0], ss[1], ss[2]
		reg := metricsOf(t, busy)
		if v := metric(t, reg, "hotline_rtp_receive_batching"); v != 1 {
			t.Errorf("hotline_rtp_receive_batching %v, want 1", v)
		}
		var want uint64
		for _, burst := range []int{1, 3, 9, 30} {
			for range burst {
				prs[0].sendAudio(busy.LocalAddr())
			}
			prs[1].sendAudio(single.LocalAddr())
			want += uint64(burst)
			readTick(busy)
			if got := busy.Stats().PacketsReceived; got != want {
				t.Fatalf("burst of %d: %d of %d packets read in the tick", burst, got, want)
			}
		}
		if got := single.Stats().PacketsReceived; got != 4 {
			t.Errorf("the session beside the bursts read %d of 4 packets", got)
		}
		if got := quiet.Stats().PacketsReceived + quiet.Stats().Garbage; got != 0 {
			t.Errorf("a session nobody sent to read %d packets", got)
		}
		// More than one tick reads from one socket: the rest waits for the next ticks.
		for range 200 {
			prs[0].sendAudio(busy.LocalAddr())
		}
		want += 200
		prs[1].sendAudio(single.LocalAddr())
		readTick(busy)
		if got := single.Stats().PacketsReceived; got != 5 {
			t.Errorf("a flood on another socket held up this one: %d of 5 packets", got)
		}
		for i := 0; busy.Stats().PacketsReceived < want; i++ {
			if i == 20 {
				t.Fatalf("%d of %d packets after 20 ticks", busy.Stats().PacketsReceived, want)
			}
			readTick(busy)
		}
		if g := busy.Stats().Garbage; g != 0 {
			t.Errorf("%d packets counted as garbage", g)
		}
		if v := metric(t, reg, "hotline_rtp_receive_batches_total"); v == 0 {
			t.Error("hotline_rtp_receive_batches_total is 0")
		}
	})
}

// TestBatchedReceiveChunks: with more sockets holding data than one submission reads
// (rxChunk), and bursts among them that take several rounds, every datagram reaches
// the session whose socket it came to, from its own caller, and none is lost: the
// shard's read buffers are reused chunk after chunk.
func TestBatchedReceiveChunks(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		n := 2*rxChunk + 10
		ss, prs := batchedReceivers(t, n, Config{PortMin: 52000, PortMax: 53998}, multishot)
		for i, pr := range prs {
			pr.ssrc, pr.seq = 0x10000+uint32(i), uint16(i*300) // each caller a stream of its own
		}
		want := make([]uint64, n)
		for round := range 3 {
			for i, s := range ss {
				k := 1
				if i%7 == round {
					k = 2 + 3*round // 2, 5 or 8 at once: the later rounds read rxDepth at a time
				}
				for range k {
					prs[i].sendAudio(s.LocalAddr())
				}
				want[i] += uint64(k)
			}
			for tick := 0; ; tick++ {
				readTick(ss[0])
				done := true
				for i, s := range ss {
					done = done && s.Stats().PacketsReceived >= want[i]
				}
				if done {
					break
				}
				if tick == 10 {
					t.Fatalf("round %d: not every datagram was read after 10 ticks", round)
				}
			}
		}
		for i, s := range ss {
			st := s.Stats()
			if st.PacketsReceived != want[i] || st.Garbage != 0 {
				t.Errorf("session %d: %d packets (%d garbage), its caller sent %d", i, st.PacketsReceived, st.Garbage, want[i])
			}
			// Another caller's datagram, or its address, handed to this session would
			// move the latch or show up as a change of SSRC.
			if l := s.latched.Load(); l == nil || l.addr != prs[i].addr {
				t.Errorf("session %d latched to %v, its caller is %v", i, l, prs[i].addr)
			}
			if c := s.params.Load().play.jb.Stats().SSRCChanges; c != 0 {
				t.Errorf("session %d: %d changes of SSRC", i, c)
			}
		}
	})
}

// TestEarlyTickOnce: a session whose packet a tick's reads delivered is ticked right
// after its chunk, and still exactly once per tick, like the sessions that got nothing:
// each sends one frame per 20 ms tick and plays the packets it got.
func TestEarlyTickOnce(t *testing.T) {
	ss, prs := batchedReceivers(t, rxChunk+3, Config{PortMin: 52000, PortMax: 53998}, false)
	for _, s := range ss {
		s.Start()
	}
	t0 := time.Now()
	const ticks = 10
	for k := range ticks {
		for i, s := range ss {
			if i%2 == 0 {
				prs[i].sendAudio(s.LocalAddr())
			}
		}
		ss[0].shard.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
	}
	for i, s := range ss {
		if sent := s.Stats().PacketsSent; sent != ticks {
			t.Errorf("session %d sent %d packets in %d ticks", i, sent, ticks)
		}
	}
	// Loopback normally delivers within sendto; a few more ticks allow for a machine
	// so loaded that it did not.
	for k := ticks; k < ticks+5; k++ {
		all := true
		for i, s := range ss {
			all = all && (i%2 != 0 || s.Stats().PacketsReceived >= ticks)
		}
		if all {
			break
		}
		ss[0].shard.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
	}
	for i, s := range ss {
		if got := s.Stats().PacketsReceived; i%2 == 0 && got != ticks {
			t.Errorf("session %d received %d of %d packets", i, got, ticks)
		}
	}
}

// TestBatchedReceiveIdle: sockets nobody sends to (calls on hold, callers that send
// no media) cost no read at all: the shard's epoll lists no socket and its ticks enter
// no ring until a packet comes. With multishot reads the first tick enters the ring
// once to arm the sockets, and a packet takes two enters: the one that reads it and
// the one that finds nothing more.
func TestBatchedReceiveIdle(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 3, Config{}, multishot)
		reg := metricsOf(t, ss[0])
		idle, packet := 0.0, 1.0
		if multishot {
			idle, packet = 1, 2
		}
		for range 10 {
			readTick(ss[0])
		}
		if v := metric(t, reg, "hotline_rtp_receive_batches_total"); v != idle {
			t.Errorf("10 ticks without traffic entered the ring %v times, want %v", v, idle)
		}
		prs[1].sendAudio(ss[1].LocalAddr())
		readTick(ss[0])
		if v := metric(t, reg, "hotline_rtp_receive_batches_total") - idle; v != packet {
			t.Errorf("one packet took %v submissions, want %v", v, packet)
		}
		if got := ss[1].Stats().PacketsReceived; got != 1 {
			t.Errorf("read %d packets, want 1", got)
		}
	})
}

// TestBatchedReceiveDigits: telephone-events read by the shard become digits, and a
// digit whose end packets were all lost is still reported by the housekeeping the
// tick does.
func TestBatchedReceiveDigits(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 1, Config{}, multishot)
		s, pr := ss[0], prs[0]
		pr.sendDigits(s.LocalAddr(), "12")
		readTick(s)
		if got := readDigits(t, s, 2, time.Second); got != "12" {
			t.Fatalf("digits %q, want 12", got)
		}
		// A 3 whose end never comes: reported once the housekeeping finds it expired.
		ev := []byte{3, 10, 0, 160}
		pr.sendRTP(s.LocalAddr(), 101, true, ev)
		readTick(s)
		deadline := time.Now().Add(3 * time.Second)
		for len(s.digits) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			readTick(s)
		}
		if got := readDigits(t, s, 1, time.Second); got != "3" {
			t.Fatalf("digit %q, want 3 from an event without end packets", got)
		}
	})
}

// TestBatchedReceiveArrivalTime: a packet read a tick after it arrived keeps its
// kernel arrival time, so jitter and timeouts see when it came, not when it was read.
func TestBatchedReceiveArrivalTime(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 1, Config{}, multishot)
		s, pr := ss[0], prs[0]
		before := time.Now()
		pr.sendAudio(s.LocalAddr())
		sent := time.Now()
		time.Sleep(40 * time.Millisecond)
		read := time.Now()
		readTick(s)
		if s.Stats().PacketsReceived != 1 {
			t.Fatal("the packet was not read")
		}
		at := time.Duration(s.lastRx.Load())
		lo, hi := time.Duration(s.eng.mono(before)), time.Duration(s.eng.mono(sent))
		if at < lo-time.Millisecond || at > hi+10*time.Millisecond {
			t.Errorf("arrival %v after the engine's start: sent between %v and %v, read at %v", at, lo, hi, time.Duration(s.eng.mono(read)))
		}
	})
}

// TestBatchedReceiveFallback: once the ring fails, the shard reads every socket with
// one recvmsg per datagram and the calls go on hearing their callers.
func TestBatchedReceiveFallback(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 2, Config{}, multishot)
		reg := metricsOf(t, ss[0])
		rx := ss[0].shard.rx
		if multishot {
			// The sockets go back to the epoll listing, read one recvmsg at a time.
			if rx.ms == nil {
				t.Fatal("no multishot ring")
			}
			rx.msFail(errTestRing)
		} else {
			rx.fail(errTestRing, 0) // nothing queued: only the switch to direct reads
		}
		if v := metric(t, reg, "hotline_rtp_receive_batching"); v != 0 {
			t.Errorf("hotline_rtp_receive_batching %v after the ring failed, want 0", v)
		}
		for range 5 {
			prs[0].sendAudio(ss[0].LocalAddr())
		}
		prs[1].sendAudio(ss[1].LocalAddr())
		readTick(ss[0])
		if a, b := ss[0].Stats().PacketsReceived, ss[1].Stats().PacketsReceived; a != 5 || b != 1 {
			t.Errorf("read %d of 5 and %d of 1 packets without the ring", a, b)
		}
	})
}

type testRingError struct{}

func (testRingError) Error() string { return "test: the ring fails" }

var errTestRing error = testRingError{}

// TestBatchedReceiveAddressFamilies: raw sockets bound as net.ListenUDP would bind
// them: IPv6 loopback, and the wildcard, which hears IPv4 callers (v4-mapped) and
// answers them.
func TestBatchedReceiveAddressFamilies(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		for _, tc := range []struct{ bind, peer, dial string }{
			{"::1", "::1", "::1"},
			{"0.0.0.0", "127.0.0.1", "127.0.0.1"},
			{"::", "127.0.0.1", "127.0.0.1"},
		} {
			t.Run(tc.bind, func(t *testing.T) {
				min, max := testPortRange()
				e, err := NewEngine(Config{BindIP: netip.MustParseAddr(tc.bind), PortMin: min, PortMax: max, ClockShards: 1},
					WithLogger(quietLog), withManualClock(), withBatchedReceive())
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				if multishot {
					multishotHere(t, e)
				}
				pr := newPeer(t, tc.peer)
				s, err := e.NewSession(nil)
				if err != nil {
					t.Fatal(err)
				}
				defer closeTicking(t, s)
				if s.raw == nil {
					t.Fatal("no raw socket")
				}
				if err := s.Configure(pcmu(pr.addr)); err != nil {
					t.Fatal(err)
				}
				s.Start()
				to := netip.AddrPortFrom(netip.MustParseAddr(tc.dial), s.LocalAddr().Port())
				pr.sendAudio(to)
				m := manual{s: s, t0: time.Now()}
				m.shardTick(0)
				if got := s.Stats(); got.PacketsReceived != 1 || got.Garbage != 0 {
					t.Errorf("received %d, garbage %d, want one packet", got.PacketsReceived, got.Garbage)
				}
				pk := pr.must(time.Second)
				if pk.from.Port() != s.LocalAddr().Port() {
					t.Errorf("the reply came from port %d, not the session's %d", pk.from.Port(), s.LocalAddr().Port())
				}
			})
		}
	})
}

// TestBatchedReceiveTickAllocates: a shard tick that reads a packet for each of
// several calls and sends theirs allocates nothing.
func TestBatchedReceiveTickAllocates(t *testing.T) {
	forEachReceiveMode(t, func(t *testing.T, multishot bool) {
		ss, prs := batchedReceivers(t, 8, Config{}, multishot)
		for _, s := range ss {
			s.Start()
		}
		pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
		sh, t0, k := ss[0].shard, time.Now(), 0
		step := func() {
			k++
			pkt[2], pkt[3] = byte(k>>8), byte(k)
			for i, s := range ss {
				if _, err := prs[i].conn.WriteToUDPAddrPort(pkt, s.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			sh.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
		}
		for range 50 {
			step()
		}
		if n := testing.AllocsPerRun(100, step); n != 0 {
			t.Errorf("a tick that reads and sends for 8 calls allocates %v times", n)
		}
		for _, s := range ss {
			if got := s.Stats().PacketsReceived; got != uint64(k) {
				t.Errorf("a session read %d of %d packets", got, k)
			}
		}
	})
}

// TestMultishotReceiveRunningClock: an engine with its clock running and
// receive_batching multishot reads with multishot reads on every shard; the calls hear their callers, and a closed call's
// port is free at once (its read was cancelled before the socket closed, so no armed
// read keeps the socket bound).
func TestMultishotReceiveRunningClock(t *testing.T) {
	e, _ := newTestEngine(t, Config{ClockShards: 2, ReceiveBatching: ReceiveBatchingMultishot})
	for i, sh := range e.clock.shards {
		if sh.rx == nil || sh.rx.ms == nil {
			t.Fatalf("shard %d reads without multishot reads: %v", i, e.clock.multishotErrs())
		}
	}
	const calls = 6
	ss, prs := make([]*Session, calls), make([]*peer, calls)
	for i := range calls {
		prs[i] = newPeer(t, "127.0.0.1")
		ss[i] = newTestSession(t, e)
		if err := ss[i].Configure(pcmu(prs[i].addr)); err != nil {
			t.Fatal(err)
		}
		ss[i].Start()
	}
	const packets = 25
	for range packets {
		for i, s := range ss {
			prs[i].sendAudio(s.LocalAddr())
		}
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i, s := range ss {
		for s.Stats().PacketsReceived < packets && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := s.Stats(); got.PacketsReceived != packets || got.Garbage != 0 {
			t.Errorf("call %d read %d of %d packets, %d garbage", i, got.PacketsReceived, packets, got.Garbage)
		}
	}
	port := ss[0].LocalAddr().Port()
	start := time.Now()
	if err := ss[0].Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > leaveWait/2 {
		t.Errorf("closing a call took %v: its read was not cancelled at the next tick", d)
	}
	raw, err := listenRaw(netip.MustParseAddr("127.0.0.1"), int(port), 1<<16)
	if err != nil {
		t.Fatalf("the closed call's port %d is still bound: %v", port, err)
	}
	raw.Close()
	// The others still hear their callers.
	prs[1].sendAudio(ss[1].LocalAddr())
	for ss[1].Stats().PacketsReceived < packets+1 && time.Now().Before(deadline.Add(time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := ss[1].Stats().PacketsReceived; got != packets+1 {
		t.Errorf("after another call closed, call 1 read %d of %d packets", got, packets+1)
	}
}

// TestMultishotReceiveOutOfBuffers: more datagrams waiting on more sockets than one
// pass has buffers for: the reads that find none end (ENOBUFS) and are armed again
// once the pass gives the buffers back; every datagram is read.
func TestMultishotReceiveOutOfBuffers(t *testing.T) {
	const calls, each = 16, 40 // 640 datagrams, 32 a socket per read: over msBuffers a pass
	ss, prs := batchedReceivers(t, calls, Config{}, true)
	readTick(ss[0]) // arms the reads
	for range each {
		for i, s := range ss {
			prs[i].sendAudio(s.LocalAddr())
		}
	}
	for i := 0; ; i++ {
		done := true
		for _, s := range ss {
			done = done && s.Stats().PacketsReceived == each
		}
		if done {
			break
		}
		if i == 20 {
			t.Fatalf("not every datagram read after 20 ticks: %d of %d on the first call", ss[0].Stats().PacketsReceived, each)
		}
		readTick(ss[0])
	}
	for i, s := range ss {
		if g := s.Stats().Garbage; g != 0 {
			t.Errorf("call %d: %d packets counted as garbage", i, g)
		}
	}
	if ss[0].shard.rx.msRearmed == 0 {
		t.Error("no read ran out of buffers: the test did not test that")
	}
}

// Flags of BenchmarkShardReceive, for the cache measurements in bench/PROFILE.md
// (bench/cachemiss.sh runs it under valgrind's cache simulator).
var (
	shardCalls    = flag.Int("shard-calls", 400, "BenchmarkShardReceive: calls in the shard")
	shardValgrind = flag.Bool("shard-valgrind", false, "BenchmarkShardReceive: the run is under valgrind, tens of times slower; the jitter buffers wait 400 ms, so the slow sends do not make them conceal")
)

// BenchmarkShardReceive is the CPU one shard's tick spends on its thread (getrusage
// RUSAGE_THREAD) for 400 calls (-shard-calls) that each got one packet since the last
// tick, with each way of reading the sockets; the callers' packets are sent from
// another thread beforehand, so their cost is not counted. The tick also plays out
// and sends, alike in both modes. wall-ns is the tick's elapsed time per call, which
// the thread's CPU time undercounts for small shards; concealed/call-tick says the
// stream played out clean.
func BenchmarkShardReceive(b *testing.B) {
	calls := *shardCalls
	for _, m := range receiveModes {
		b.Run(m.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cfg := Config{PortMin: 52000, PortMax: 53998}
			if *shardValgrind {
				cfg.Jitter.MinDelay, cfg.Jitter.MaxDelay = 400*time.Millisecond, 800*time.Millisecond
			}
			ss, prs := batchedReceivers(b, calls, cfg, m.multishot)
			for _, s := range ss {
				s.Start()
			}
			send := make(chan struct{})
			sent := make(chan struct{})
			go func() {
				for range send {
					for i, s := range ss {
						prs[i].sendAudio(s.LocalAddr())
					}
					sent <- struct{}{}
				}
			}()
			defer close(send)
			sh, t0, k := ss[0].shard, time.Now(), 0
			var cpu, wall time.Duration
			threadCPU := func() time.Duration {
				var ru syscall.Rusage
				if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
					b.Fatal(err)
				}
				return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			}
			for b.Loop() {
				send <- struct{}{}
				<-sent
				before := threadCPU()
				w0 := time.Now()
				sh.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
				wall += time.Since(w0)
				cpu += threadCPU() - before
				k++
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(k*calls), "cpu-ns/call-tick")
			b.ReportMetric(float64(wall.Nanoseconds())/float64(k*calls), "wall-ns/call-tick")
			var got, concealed uint64
			for _, s := range ss {
				got += s.Stats().PacketsReceived
				concealed += s.Stats().Concealed
			}
			b.ReportMetric(float64(concealed)/float64(k*calls), "concealed/call-tick")
			b.ReportMetric(float64(got)/float64(k*calls), "read/sent")
		})
	}
}
