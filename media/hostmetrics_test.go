package media

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestUDPErrorsCollector reads the kernel's UDP counters from a procfs tree: IPv4 from
// the header/value line pair of net/snmp, IPv6 from net/snmp6, added up.
func TestUDPErrorsCollector(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	snmp := strings.Join([]string{
		"Ip: Forwarding DefaultTTL",
		"Ip: 1 64",
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
		"Udp: 2000 0 1744 10 1744 0 0 0 0",
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
		"UdpLite: 0 0 99 0 99 0 0 0 0",
	}, "\n")
	snmp6 := "Udp6InDatagrams                 \t5\nUdp6InErrors                    \t3\nUdp6RcvbufErrors                \t2\n"
	for name, body := range map[string]string{"snmp": snmp, "snmp6": snmp6} {
		if err := os.WriteFile(filepath.Join(dir, "net", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewUDPErrorsCollector(dir))
	if n := metric(t, reg, "hotline_udp_receive_buffer_errors_total"); n != 1746 {
		t.Errorf("receive buffer errors %v, want 1746", n)
	}
	if n := metric(t, reg, "hotline_udp_in_errors_total"); n != 1747 {
		t.Errorf("in errors %v, want 1747", n)
	}

	// No procfs: nothing reported, no error.
	empty := prometheus.NewRegistry()
	empty.MustRegister(NewUDPErrorsCollector(t.TempDir()))
	if mfs, err := empty.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("without procfs: %v, %v", mfs, err)
	}

	// The engine registers it: the series is there on this (Linux) host.
	_, engReg := newTestEngine(t, Config{})
	mfs, err := engReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "hotline_udp_receive_buffer_errors_total"
	}
	if _, statErr := os.Stat("/proc/net/snmp"); statErr == nil && !found {
		t.Error("engine registry lacks hotline_udp_receive_buffer_errors_total")
	}
}
