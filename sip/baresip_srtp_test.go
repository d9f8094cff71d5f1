package sip

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// sineSource is a media.Source of a sine tone at freq Hz (8 kHz, about -12 dBFS).
type sineSource struct {
	freq float64
	n    int
}

func (s *sineSource) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = int16(8000 * math.Sin(2*math.Pi*s.freq*float64(s.n)/8000))
		s.n++
	}
	return len(frame), nil
}

// loudFrames counts received frames whose RMS is above -35 dBFS.
type loudFrames struct {
	mu          sync.Mutex
	loud, total int
}

func (l *loudFrames) WriteSample(pcm []int16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if rmsDBFS(pcm) > -35 {
		l.loud++
	}
	return nil
}

func (l *loudFrames) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loud, l.total
}

func rmsDBFS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return -100
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768+1e-9)
}

// writeToneWAV writes seconds of a freq Hz tone as 8 kHz 16-bit mono WAV.
func writeToneWAV(t *testing.T, path string, freq float64, seconds int) {
	t.Helper()
	pcm := make([]int16, 8000*seconds)
	(&sineSource{freq: freq}).Read(pcm)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*len(pcm)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*len(pcm)))
	_ = binary.Write(&b, le, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readWAVLoudFrames reads a 16-bit PCM WAV and counts its 20 ms frames above -35
// dBFS, and all of them.
func readWAVLoudFrames(t *testing.T, path string) (loud, total int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a WAV file", path)
	}
	var rate, channels int
	var data []byte
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			channels, rate = int(binary.LittleEndian.Uint16(body[2:4])), int(binary.LittleEndian.Uint32(body[4:8]))
		case "data":
			data = body
		}
		p += 8 + n + n%2
	}
	if rate == 0 || channels == 0 {
		t.Fatalf("%s: no fmt chunk", path)
	}
	frame := rate / 50 * channels
	pcm := make([]int16, len(data)/2)
	_ = binary.Read(bytes.NewReader(data[:2*len(pcm)]), binary.LittleEndian, pcm)
	for i := 0; i+frame <= len(pcm); i += frame {
		total++
		if rmsDBFS(pcm[i:i+frame]) > -35 {
			loud++
		}
	}
	return loud, total
}

// baresipCallee is baresip answering calls on TLS by itself with SDES-SRTP
// (mediaenc=srtp-mand), sending a tone and dumping what it hears (sndfile).
type baresipCallee struct {
	dir     string
	tlsPort int
	mu      sync.Mutex
	out     bytes.Buffer
	cmd     *exec.Cmd
	exit    chan error
	once    sync.Once
}

func startBaresipCallee(t *testing.T, user, certFile, keyFile string) *baresipCallee {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatalf("baresip not found in PATH: install the Debian package baresip-core (apt-get install baresip-core): %v", err)
	}
	dir := t.TempDir()
	cert, _ := os.ReadFile(certFile)
	key, _ := os.ReadFile(keyFile)
	pem := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pem, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, 440, 30)
	sipPort := regFreePort(t)
	rtp := 47000 + (sipPort%50)*20
	config := fmt.Sprintf(`sip_listen 127.0.0.1:%d
sip_certificate %s
audio_player aufile,%s
audio_source aufile,%s
audio_alert aufile,/dev/null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
module srtp.so
snd_path %s
module_app account.so
module_app menu.so
`, sipPort, pem, filepath.Join(dir, "player.wav"), tone, rtp, rtp+19, dir)
	account := fmt.Sprintf("<sip:%s@127.0.0.1;transport=tls>;regint=0;answermode=auto;mediaenc=srtp-mand;audio_codecs=PCMU\n", user)
	for file, text := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := &baresipCallee{dir: dir, tlsPort: sipPort + 1, exit: make(chan error, 1)}
	b.cmd = exec.Command("baresip", "-f", dir, "-t", "60")
	b.cmd.Dir = dir
	b.cmd.Stdout = lockedWriter{&b.mu, &b.out}
	b.cmd.Stderr = b.cmd.Stdout
	b.cmd.WaitDelay = 5 * time.Second
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { b.exit <- b.cmd.Wait() }()
	t.Cleanup(func() {
		b.quit()
		if t.Failed() {
			b.mu.Lock()
			t.Logf("baresip output:\n%s", b.out.String())
			b.mu.Unlock()
		}
	})
	waitUntil(t, 10*time.Second, "baresip's TLS port", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.tlsPort))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return b
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// quit stops baresip with SIGINT (it closes its dump files) and waits; it signals
// its own child by its process, never by name.
func (b *baresipCallee) quit() {
	b.once.Do(func() {
		_ = b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.exit:
		case <-time.After(10 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exit
		}
	})
}

// portsFree reports whether port is free on network at 127.0.0.1.
func portsFree(port int, network string) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// TestBaresipTLSSRTP: a real SRTP peer. The engine calls baresip through a trunk
// with transport tls (baresip's certificate verified against tls_ca_file) and srtp:
// required; baresip (mediaenc=srtp-mand) answers with its own a=crypto key. The
// engine plays a 1 kHz tone and hears baresip's 440 Hz tone, decrypted; baresip's
// dump of what it decoded holds the engine's tone; no SRTP packet failed.
func TestBaresipTLSSRTP(t *testing.T) {
	certFile, keyFile, _ := writeCert(t, t.TempDir(), 11)
	const user = "+12125550123"
	b := startBaresipCallee(t, user, certFile, keyFile)
	tr := carrierTrunk(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(b.tlsPort)))
	tr.Username, tr.Password = "", ""
	tr.Transport, tr.TLSCAFile, tr.SRTP = "tls", certFile, SRTPRequired
	e := newEnv(t, withSIP(func(c *Config) {
		c.Listen = append(c.Listen, Listen{"tls", "127.0.0.1:0"})
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.Trunks = []TrunkConfig{tr}
	}))
	r := result(t, e.dial(context.Background(), DialRequest{Target: user, Trunk: "carrier"}))
	if r.err != nil {
		t.Fatalf("Dial baresip over TLS with SRTP: %v", r.err)
	}
	c := r.c
	c.mu.Lock()
	neg := c.neg
	c.mu.Unlock()
	if neg.Crypto == nil || neg.LocalCrypto == nil || neg.Crypto.Suite != "AES_CM_128_HMAC_SHA1_80" {
		t.Fatalf("the call is not SRTP with AES_CM_128_HMAC_SHA1_80: %v / %v", neg.Crypto, neg.LocalCrypto)
	}
	heard := &loudFrames{}
	stop := c.ListenAudio(heard)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = c.Play(ctx, &sineSource{freq: 1000})
	cancel()
	waitUntil(t, 10*time.Second, "baresip's tone at the engine", func() bool {
		loud, _ := heard.counts()
		return loud >= 25
	})
	stop()
	// While the call is up nothing fails SRTP or SRTCP authentication. (baresip's
	// last SRTCP report, racing the teardown after our BYE, is sometimes counted as
	// rtcp_auth: that is after the call, so it is logged, not judged.)
	reasons := []string{"auth", "replay", "short", "rtcp_auth", "rtcp_replay", "rtcp_short"}
	for _, reason := range reasons {
		if n := e.metric("hotline_srtp_errors_total", "reason", reason); n != 0 {
			t.Errorf("during the call: hotline_srtp_errors_total{reason=%q} = %v, want 0", reason, n)
		}
	}
	if err := c.Hangup(context.Background()); err != nil {
		t.Errorf("Hangup: %v", err)
	}
	for _, reason := range reasons {
		if n := e.metric("hotline_srtp_errors_total", "reason", reason); n != 0 {
			t.Logf("after the hang-up: hotline_srtp_errors_total{reason=%q} = %v", reason, n)
		}
	}
	b.quit()
	dumps, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
	if len(dumps) == 0 {
		t.Fatal("baresip wrote no dump of what it decoded")
	}
	loud, total := readWAVLoudFrames(t, dumps[0])
	loudIn, totalIn := heard.counts()
	t.Logf("the engine heard %d loud frames of %d; baresip decoded %d loud frames of %d", loudIn, totalIn, loud, total)
	if loud < 25 { // half a second of the engine's tone, at least: silence or garbage has none
		t.Errorf("baresip decoded the engine's tone in %d frames, want at least 25", loud)
	}
}
