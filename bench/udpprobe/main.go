// Command udpprobe measures the raw UDP ceiling of a machine for the capacity
// benchmark: what one core can do when a "call" is nothing but a 172-octet packet
// (an RTP header and 20 ms of G.711) each way every 20 ms over loopback, with plain
// Go sockets and one reading goroutine per socket, which is the engine's own I/O
// shape (DESIGN.md principle 3) without any of its work. The engine's capacity is
// reported as a share of this ceiling, measured in the same run on the same cores.
//
//	udpprobe echo -n 2000 -ports-file /tmp/ports   # the engine's side, pinned to CPU 0
//	udpprobe drive -ports-file /tmp/ports -hold 20s # the callers' side, pinned to CPU 1
//
// echo binds n sockets, writes their ports to the file once all are bound, reads
// each with its own goroutine and, from two clock goroutines ticking every 20 ms (the
// engine's default clock shards), sends one packet per socket to the address the
// socket last heard from. drive is the load generator's media path (package
// loadtest): one stream per port, batched I/O, kernel receive timestamps, and the
// same report and criteria as the SIP runs; it exits 1 when the criteria fail.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: udpprobe echo|drive [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "echo":
		err = echo(ctx, os.Args[2:])
	case "drive":
		err = drive(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want echo or drive)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpprobe:", err)
		os.Exit(1)
	}
}

// packetSize is an RTP header and one 20 ms G.711 frame.
const packetSize = 172

func echo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	n := fs.Int("n", 100, "sockets (calls)")
	bind := fs.String("bind", "127.0.0.1", "address to bind")
	portsFile := fs.String("ports-file", "", "file to write the bound ports to, one per line")
	shards := fs.Int("shards", 2, "clock goroutines sending, like the engine's clock shards")
	buffer := fs.Int("socket-buffer", 512<<10, "SO_RCVBUF/SO_SNDBUF per socket, the engine's default")
	_ = fs.Parse(args)
	if *portsFile == "" || *n < 1 || *shards < 1 {
		return errors.New("echo needs -ports-file, -n >= 1 and -shards >= 1")
	}
	ip, err := netip.ParseAddr(*bind)
	if err != nil {
		return err
	}
	socks := make([]*probeSocket, *n)
	var ports strings.Builder
	for i := range socks {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
		_ = c.SetReadBuffer(*buffer)
		_ = c.SetWriteBuffer(*buffer)
		socks[i] = &probeSocket{conn: c, ssrc: uint32(i + 1)}
		fmt.Fprintf(&ports, "%d\n", c.LocalAddr().(*net.UDPAddr).Port)
	}
	tmp := *portsFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ports.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *portsFile); err != nil {
		return err
	}

	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Add(1)
		go func() { defer wg.Done(); s.read() }()
	}
	stopClock := make(chan struct{})
	for k := range *shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			var pkt [packetSize]byte
			for {
				select {
				case <-stopClock:
					return
				case <-t.C:
				}
				for i := k; i < len(socks); i += *shards {
					socks[i].send(pkt[:])
				}
			}
		}()
	}
	<-ctx.Done()
	close(stopClock)
	for _, s := range socks {
		s.conn.Close()
	}
	wg.Wait()
	return nil
}

// probeSocket is one "call" of the echo side.
type probeSocket struct {
	conn *net.UDPConn
	peer atomic.Pointer[netip.AddrPort]
	ssrc uint32
	seq  uint16
	ts   uint32
}

// read is the socket's reading goroutine: it latches onto the sender, as the engine
// does with symmetric RTP, and otherwise only reads.
func (s *probeSocket) read() {
	buf := make([]byte, 1500)
	for {
		_, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if p := s.peer.Load(); p == nil || *p != from {
			s.peer.Store(&from)
		}
	}
}

// send writes the next packet: an RTP header (version 2, PT 0) and 160 octets of
// μ-law silence.
func (s *probeSocket) send(pkt []byte) {
	p := s.peer.Load()
	if p == nil {
		return
	}
	pkt[0], pkt[1] = 0x80, 0
	pkt[2], pkt[3] = byte(s.seq>>8), byte(s.seq)
	pkt[4], pkt[5], pkt[6], pkt[7] = byte(s.ts>>24), byte(s.ts>>16), byte(s.ts>>8), byte(s.ts)
	pkt[8], pkt[9], pkt[10], pkt[11] = byte(s.ssrc>>24), byte(s.ssrc>>16), byte(s.ssrc>>8), byte(s.ssrc)
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xFF
	}
	if _, err := s.conn.WriteToUDPAddrPort(pkt, *p); err == nil {
		s.seq++
	}
	s.ts += 160
}

func drive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	portsFile := fs.String("ports-file", "", "ports written by echo")
	target := fs.String("target", "127.0.0.1", "address of the echo side")
	hold := fs.Duration("hold", 20*time.Second, "how long the streams run")
	pid := fs.Int("pid", 0, "echo process to sample CPU from")
	jsonOut := fs.String("json", "", "write the report as JSON to this file")
	sockets := fs.Int("sockets", loadtest.DefaultSockets, "RTP sockets of the driving side")
	_ = fs.Parse(args)
	ip, err := netip.ParseAddr(*target)
	if err != nil {
		return err
	}
	targets, err := readPorts(*portsFile, ip)
	if err != nil {
		return err
	}
	rep, err := loadtest.RunMedia(ctx, loadtest.MediaConfig{Targets: targets, Hold: *hold, PeerPID: *pid, Sockets: *sockets, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !rep.Verdict.Pass {
		return errors.New("criteria not met")
	}
	return nil
}

// readPorts reads the echo side's ports file.
func readPorts(path string, ip netip.Addr) ([]netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		p, err := strconv.Atoi(line)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%s: bad port %q", path, line)
		}
		out = append(out, netip.AddrPortFrom(ip, uint16(p)))
	}
	return out, sc.Err()
}
