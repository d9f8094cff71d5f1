package sip

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and localhost with serial
// and its key.
func writeCert(t *testing.T, dir string, serial int64) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "hotline test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// TestTLSOptionsAndReload: a TLS client verifying the self-signed certificate gets
// 200 to OPTIONS over TLS; TLS 1.1 is refused; after ReloadCertificate new
// connections get the new certificate.
func TestTLSOptionsAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert1 := writeCert(t, dir, 1)
	e := newEnv(t, withSIP(func(c *Config) {
		c.Listen = append(c.Listen, Listen{"tls", "127.0.0.1:0"})
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
	}))
	var addr string
	for _, a := range e.srv.Addrs() {
		if a.Network() == "tls" {
			addr = a.String()
		}
	}
	if addr == "" {
		t.Fatal("no tls listener in Addrs")
	}
	dial := func(cert *x509.Certificate, maxVersion uint16) (*tls.Conn, error) {
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MaxVersion: maxVersion})
	}
	options := func(conn *tls.Conn) string {
		local := conn.LocalAddr().String()
		req := "OPTIONS sip:hotline@" + addr + ";transport=tls SIP/2.0\r\n" +
			"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK" + randHex(6) + ";rport\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:tester@127.0.0.1>;tag=" + randHex(4) + "\r\nTo: <sip:hotline@127.0.0.1>\r\n" +
			"Call-ID: " + randHex(8) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("reading the OPTIONS answer over TLS: %v", err)
		}
		return strings.TrimSpace(line)
	}
	conn, err := dial(cert1, 0)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	if got := options(conn); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TLS answered %q", got)
	}
	conn.Close()
	if c, err := dial(cert1, tls.VersionTLS11); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}
	certFile2, keyFile2, cert2 := writeCert(t, t.TempDir(), 2)
	for _, f := range [][2]string{{certFile2, certFile}, {keyFile2, keyFile}} {
		b, _ := os.ReadFile(f[0])
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.srv.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	conn, err = dial(cert2, 0)
	if err != nil {
		t.Fatalf("TLS dial after reload: %v", err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != 2 {
		t.Fatalf("certificate serial after reload = %d, want 2", got)
	}
	if got := options(conn); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TLS after reload answered %q", got)
	}
}
