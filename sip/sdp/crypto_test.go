package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

const testKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

func TestParseCryptoRoundTrip(t *testing.T) {
	for _, v := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey,
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + testKey + "|2^31",
		"3 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4 KDR=1",
		"4 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|1:4",
	} {
		c, err := ParseCrypto(v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if c.Value() != v {
			t.Errorf("round trip %q -> %q", v, c.Value())
		}
		for _, s := range []string{c.String(), c.GoString(), c.LogValue().String(), fmt.Sprintf("%v %+v", c, &c)} {
			if strings.Contains(s, testKey[:10]) {
				t.Errorf("printed with its key: %s", s)
			}
		}
	}
	c, _ := ParseCrypto("3 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4 KDR=1")
	if c.Tag != 3 || c.Lifetime != "2^20" || c.MKI != "1:4" || len(c.SessionParams) != 1 || c.KeySalt != testKey {
		t.Errorf("fields: %+v", c)
	}
	for _, bad := range []string{"", "1 AES", "x AES_CM_128_HMAC_SHA1_80 inline:" + testKey,
		"1 AES_CM_128_HMAC_SHA1_80 uri:foo", "1 AES_CM_128_HMAC_SHA1_80 inline:k|a|b|c"} {
		_, err := ParseCrypto(bad)
		if err == nil {
			t.Errorf("%q parsed", bad)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}

func savpOffer(cryptoLines ...string) string {
	s := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	for _, c := range cryptoLines {
		s += "a=crypto:" + c + "\r\n"
	}
	return s
}

var srtpConfig = Config{Protos: []string{"RTP/SAVP", "RTP/AVP"},
	CryptoSuites: []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}}

func TestNegotiateCrypto(t *testing.T) {
	// The offerer's first usable line wins: unknown suite and MKI lines are skipped.
	offer, err := Parse([]byte(savpOffer(
		"1 AES_256_CM_HMAC_SHA1_80 inline:"+testKey,
		"2 AES_CM_128_HMAC_SHA1_80 inline:"+testKey+"|1:4",
		"3 AES_CM_128_HMAC_SHA1_32 inline:"+testKey,
		"4 AES_CM_128_HMAC_SHA1_80 inline:"+testKey)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(offer, srtpConfig)
	if err != nil {
		t.Fatal(err)
	}
	if n.Crypto == nil || n.Crypto.Tag != 3 || n.Crypto.Suite != "AES_CM_128_HMAC_SHA1_32" {
		t.Fatalf("chose %+v, want tag 3", n.Crypto)
	}
	n.LocalCrypto = &Crypto{Tag: 3, Suite: n.Crypto.Suite, KeySalt: "b3Vy", Keys: 1}
	ans := Answer(offer, n, mustAddrPort("203.0.113.5:5000"), NewOrigin(1, mustAddrPort("203.0.113.5:5000").Addr()))
	body := string(ans.Marshal())
	if !strings.Contains(body, "m=audio 5000 RTP/SAVP 0\r\n") || !strings.Contains(body, "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:b3Vy\r\n") {
		t.Errorf("answer:\n%s", body)
	}

	// RTP/SAVP without a usable crypto line: 488 with Warning 302.
	for _, o := range []string{savpOffer(), savpOffer("1 F8_128_HMAC_SHA1_80 inline:" + testKey)} {
		offer, _ := Parse([]byte(o))
		_, err := Negotiate(offer, srtpConfig)
		var ne *NegotiationError
		if !errors.Is(err, ErrNoCrypto) || !errors.As(err, &ne) || ne.Warn != WarnIncompatibleTransport {
			t.Errorf("no usable crypto: %v", err)
		}
	}
	// A plain trunk (default Protos) refuses RTP/SAVP as a transport.
	if _, err := Negotiate(offer, Config{}); !errors.Is(err, ErrNoAudio) {
		t.Errorf("plain config: %v", err)
	}
}

func TestOfferAndAnswerCrypto(t *testing.T) {
	ours := Crypto{Tag: 1, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: testKey, Keys: 1}
	cfg := srtpConfig
	cfg.OfferCrypto = []Crypto{ours}
	offer := Offer(cfg, mustAddrPort("203.0.113.5:5000"), NewOrigin(1, mustAddrPort("203.0.113.5:5000").Addr()), SendRecv)
	body := string(offer.Marshal())
	if !strings.Contains(body, "RTP/SAVP") || !strings.Contains(body, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testKey) {
		t.Fatalf("offer:\n%s", body)
	}
	ans, _ := Parse([]byte(savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:b3VyYw==")))
	n, err := NegotiateAnswer(offer, ans, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.Crypto == nil || n.Crypto.KeySalt != "b3VyYw==" || n.LocalCrypto == nil || n.LocalCrypto.KeySalt != testKey {
		t.Errorf("negotiated %+v / %+v", n.Crypto, n.LocalCrypto)
	}
	wrongTag, _ := Parse([]byte(savpOffer("2 AES_CM_128_HMAC_SHA1_80 inline:b3VyYw==")))
	if _, err := NegotiateAnswer(offer, wrongTag, cfg); !errors.Is(err, ErrNoCrypto) {
		t.Errorf("answer with an unoffered tag: %v", err)
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// FuzzParseCrypto: any a=crypto value parses or errs without panicking, a parsed one
// writes back to a value that parses to the same line, and errors never quote a key.
func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4 KDR=1",
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + testKey, "1 X inline:a;inline:b", "9 S inline:|||"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCrypto(v)
		if err != nil {
			return
		}
		again, err := ParseCrypto(c.Value())
		if err != nil || again.Value() != c.Value() {
			t.Fatalf("%q -> %q does not parse back: %v", v, c.Value(), err)
		}
	})
}
