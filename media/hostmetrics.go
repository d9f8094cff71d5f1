package media

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// udpErrorsCollector exports the kernel's UDP receive error counters, read from procfs
// when Prometheus scrapes, so an operator sees datagrams the kernel dropped before any
// session could read them: with the default socket buffers 1,744 of a 2,000-datagram
// burst were dropped here (Config.SocketBuffer sizes them). The counters are host-wide,
// for every UDP socket of every process (SIP included), IPv4 and IPv6 added together.
type udpErrorsCollector struct {
	proc          string
	rcvbuf, inErr *prometheus.Desc
}

// NewUDPErrorsCollector returns the collector behind hotline_udp_receive_buffer_errors_total
// (RcvbufErrors: datagrams dropped because a socket's receive buffer was full) and
// hotline_udp_in_errors_total (InErrors: every datagram the kernel failed to deliver,
// buffer drops and checksum errors included), read from /proc/net/snmp and
// /proc/net/snmp6 at scrape time. proc is the procfs root ("" means /proc). On a system
// without procfs the collector reports nothing. NewMetrics registers one.
func NewUDPErrorsCollector(proc string) prometheus.Collector {
	if proc == "" {
		proc = "/proc"
	}
	return &udpErrorsCollector{
		proc: proc,
		rcvbuf: prometheus.NewDesc("hotline_udp_receive_buffer_errors_total",
			"UDP datagrams the kernel dropped because a socket receive buffer was full (RcvbufErrors of /proc/net/snmp and snmp6, host-wide, all processes).",
			nil, nil),
		inErr: prometheus.NewDesc("hotline_udp_in_errors_total",
			"UDP datagrams the kernel could not deliver (InErrors of /proc/net/snmp and snmp6, host-wide: buffer drops, checksum errors).",
			nil, nil),
	}
}

func (c *udpErrorsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rcvbuf
	ch <- c.inErr
}

func (c *udpErrorsCollector) Collect(ch chan<- prometheus.Metric) {
	rcvbuf, inErr, ok := readUDPErrors(c.proc)
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.rcvbuf, prometheus.CounterValue, float64(rcvbuf))
	ch <- prometheus.MustNewConstMetric(c.inErr, prometheus.CounterValue, float64(inErr))
}

// readUDPErrors adds up RcvbufErrors and InErrors of IPv4 (/proc/net/snmp, a header line
// "Udp: InDatagrams NoPorts InErrors …" followed by a value line) and IPv6
// (/proc/net/snmp6, "Udp6RcvbufErrors 12" lines). ok is false when neither is readable.
func readUDPErrors(proc string) (rcvbuf, inErr uint64, ok bool) {
	if b, err := os.ReadFile(filepath.Join(proc, "net", "snmp")); err == nil {
		var header []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 || f[0] != "Udp:" {
				continue
			}
			if header == nil {
				header = f
				continue
			}
			for i := 1; i < len(f) && i < len(header); i++ {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					continue
				}
				switch header[i] {
				case "RcvbufErrors":
					rcvbuf += v
					ok = true
				case "InErrors":
					inErr += v
					ok = true
				}
			}
			break
		}
	}
	if b, err := os.ReadFile(filepath.Join(proc, "net", "snmp6")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "Udp6RcvbufErrors":
				rcvbuf += v
				ok = true
			case "Udp6InErrors":
				inErr += v
				ok = true
			}
		}
	}
	return rcvbuf, inErr, ok
}
