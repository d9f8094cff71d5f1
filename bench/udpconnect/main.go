// Command udpconnect measures what a connected UDP socket saves the kernel per
// packet over loopback against sendto with an address on an unconnected one (the
// engine's RTP sockets are unconnected so that symmetric-RTP latching sees, and
// counts, packets from any source). It sends 172-octet packets from -n sockets to
// -n others in rounds, reading each, and prints the process's CPU time per packet
// sent and received, both ways in alternation:
//
//	taskset -c 0 go run ./bench/udpconnect
package main

import (
	"flag"
	"fmt"
	"log"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 200, "socket pairs")
	rounds := flag.Int("rounds", 500, "packets per pair and pass")
	passes := flag.Int("passes", 3, "passes of each kind, alternating")
	base := flag.Int("port", 40000, "first port; uses 4n ports from here")
	flag.Parse()
	loop := [4]byte{127, 0, 0, 1}
	open := func(port int) int {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			log.Fatal(err)
		}
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1<<20); err != nil {
			log.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: loop}); err != nil {
			log.Fatalf("bind 127.0.0.1:%d: %v", port, err)
		}
		return fd
	}
	pkt, buf := make([]byte, 172), make([]byte, 2048)
	for p := range 2 * *passes {
		connected := p%2 == 1
		src, dst := make([]int, *n), make([]*syscall.SockaddrInet4, *n)
		rcv := make([]int, *n)
		for i := range *n {
			src[i] = open(*base + i)
			rcv[i] = open(*base + 2**n + i)
			dst[i] = &syscall.SockaddrInet4{Port: *base + 2**n + i, Addr: loop}
			if connected {
				if err := syscall.Connect(src[i], dst[i]); err != nil {
					log.Fatal(err)
				}
			}
		}
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		lost := 0
		for range *rounds {
			for i := range *n {
				var err error
				if connected {
					_, err = syscall.Write(src[i], pkt)
				} else {
					err = syscall.Sendto(src[i], pkt, 0, dst[i])
				}
				if err != nil {
					log.Fatal(err)
				}
			}
			for i := range *n {
				if _, err := syscall.Read(rcv[i], buf); err != nil {
					lost++
				}
			}
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
		kind := "sendto, unconnected"
		if connected {
			kind = "write, connected   "
		}
		fmt.Printf("%s  %.2f µs of CPU per packet sent and received (%d packets, %d not read)\n",
			kind, float64(cpu.Nanoseconds())/1e3/float64(*rounds**n), *rounds**n, lost)
		for i := range *n {
			syscall.Close(src[i])
			syscall.Close(rcv[i])
		}
	}
}
