package sdp

import (
	"strings"
	"testing"
)

// TestBestEffortCrypto: an RTP/AVP offer with a=crypto ("best effort" SRTP, a
// trunk with srtp: optional) takes SRTP when the answer accepts a line, plain RTP
// when the answer has none, and fails when the answer's lines match none of ours.
func TestBestEffortCrypto(t *testing.T) {
	ours := Crypto{Tag: 1, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: testKey, Keys: 1}
	cfg := srtpConfig
	cfg.OfferCrypto = []Crypto{ours}
	offer := Offer(cfg, mustAddrPort("203.0.113.5:5000"), NewOrigin(1, mustAddrPort("203.0.113.5:5000").Addr()), SendRecv)
	offer.Media[0].Proto = "RTP/AVP"
	plain := strings.Replace(savpOffer(), "RTP/SAVP", "RTP/AVP", 1)
	for _, tc := range []struct {
		name, answer string
		secure, ok   bool
	}{
		{"srtp", strings.Replace(savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:b3VyYw=="), "RTP/SAVP", "RTP/AVP", 1), true, true},
		{"savp answer", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:b3VyYw=="), true, true},
		{"plain", plain, false, true},
		{"wrong tag", strings.Replace(savpOffer("3 AES_CM_128_HMAC_SHA1_80 inline:b3VyYw=="), "RTP/SAVP", "RTP/AVP", 1), false, false},
	} {
		ans, err := Parse([]byte(tc.answer))
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, tc.answer)
		}
		n, err := NegotiateAnswer(offer, ans, cfg)
		if (err == nil) != tc.ok || (n.Crypto != nil) != tc.secure {
			t.Errorf("%s: crypto %v, error %v; want secure %v ok %v", tc.name, n.Crypto, err, tc.secure, tc.ok)
		}
	}
}
