package sip

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Credentials answer a trunk's digest challenges (RFC 3261 §22, RFC 8760).
type Credentials struct {
	Username string
	Password string
	// Realm, when set, is the only realm we answer: a challenge from any other realm
	// (a proxy we did not expect on the path) gets no hash of our password.
	Realm string
}

// errNoCredentials: a challenge we cannot or may not answer.
var errNoCredentials = errors.New("no credentials for the challenge")

// authenticator answers 401 and 407 challenges for one dialog or registration.
// sipgo's DoDigestAuth answers only the first WWW-Authenticate (or Proxy-Authenticate)
// header and knows no "-sess" algorithm; RFC 8760 §2.4 lets a server offer one
// challenge per algorithm (SHA-512-256, SHA-256, MD5, most preferred first) and
// several proxies may challenge in one 407, so this answers every realm in the
// response, each with the topmost challenge whose algorithm it supports.
type authenticator struct {
	creds  Credentials
	cnonce func() string // newCnonce; tests pin it to check RFC test vectors

	mu sync.Mutex
	nc map[string]int // nonce -> last nonce-count sent (RFC 7616 §3.4)
}

func newAuthenticator(c Credentials) *authenticator {
	if c.Username == "" {
		return nil
	}
	return &authenticator{creds: c, cnonce: newCnonce, nc: make(map[string]int)}
}

// challenge is one parsed WWW-Authenticate or Proxy-Authenticate value.
type challenge struct {
	*digest.Challenge
	algo digestAlgo
}

// digestAlgo is a digest algorithm of RFC 8760 §2.1 (and its -sess variant).
type digestAlgo struct {
	name string // as the challenge spelt it, upper case: "SHA-256-SESS"
	hash func() hash.Hash
	sess bool
}

func algoOf(name string) (digestAlgo, bool) {
	up := strings.ToUpper(strings.TrimSpace(name))
	base, sess := strings.CutSuffix(up, "-SESS")
	a := digestAlgo{name: up, sess: sess}
	switch base {
	case "", "MD5":
		a.hash = md5.New
		if up == "" {
			a.name = "MD5" // RFC 3261 §22.4: absent means MD5
		}
	case "SHA-256":
		a.hash = sha256.New
	case "SHA-512-256":
		a.hash = sha512.New512_256
	default:
		return digestAlgo{}, false
	}
	return a, true
}

// authorize adds the credentials that answer res (a 401 or 407 to req) to req,
// replacing earlier ones for the same realms. It fails when no challenge in res can
// be answered: no Digest challenge, unsupported algorithms or qop, a realm other
// than Credentials.Realm.
func (a *authenticator) authorize(req *gosip.Request, res *gosip.Response) error {
	if a == nil {
		return errNoCredentials
	}
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var chosen []challenge
	seen := map[string]bool{}
	for _, h := range res.GetHeaders(chName) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue // Basic, or garbage: RFC 8760 §2.4, ignore what we do not support
		}
		algo, ok := algoOf(ch.Algorithm)
		if !ok || seen[ch.Realm] || !supportsQOP(ch) {
			continue
		}
		if a.creds.Realm != "" && ch.Realm != a.creds.Realm {
			continue
		}
		seen[ch.Realm] = true // the topmost supported challenge of each realm
		chosen = append(chosen, challenge{ch, algo})
	}
	if len(chosen) == 0 {
		return fmt.Errorf("%w (%d %s)", errNoCredentials, res.StatusCode, chName)
	}
	// Drop our previous answers for these realms: a stale nonce is replaced, not added.
	kept := req.GetHeaders(authName)
	req.RemoveHeader(authName)
	for _, h := range kept {
		if cr, err := digest.ParseCredentials(h.Value()); err == nil && seen[cr.Realm] {
			continue
		}
		req.AppendHeader(gosip.NewHeader(authName, h.Value()))
	}
	for _, ch := range chosen {
		req.AppendHeader(gosip.NewHeader(authName, a.answer(ch, string(req.Method), req.Recipient.String(), req.Body())))
	}
	return nil
}

func supportsQOP(ch *digest.Challenge) bool {
	if len(ch.QOP) == 0 {
		return true
	}
	for _, q := range ch.QOP {
		if q = strings.TrimSpace(q); q == "auth" || q == "auth-int" {
			return true
		}
	}
	return false
}

func hasQOP(ch *digest.Challenge, want string) bool {
	for _, q := range ch.QOP {
		if strings.TrimSpace(q) == want {
			return true
		}
	}
	return false
}

// answer computes the credentials for one challenge (RFC 2617 §3.2.2 with the hash
// of RFC 8760 §2.1): response = H(H(A1):nonce:nc:cnonce:qop:H(A2)), or
// H(H(A1):nonce:H(A2)) when the challenge has no qop (RFC 2069 compatibility).
func (a *authenticator) answer(ch challenge, method, uri string, body []byte) string {
	h := ch.algo.hash()
	hx := func(parts ...string) string {
		h.Reset()
		h.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(h.Sum(nil))
	}
	qop := ""
	switch {
	case hasQOP(ch.Challenge, "auth"):
		qop = "auth"
	case hasQOP(ch.Challenge, "auth-int"):
		qop = "auth-int"
	}
	cnonce, nc := "", 0
	if qop != "" || ch.algo.sess {
		cnonce = a.cnonce()
	}
	if qop != "" {
		a.mu.Lock()
		a.nc[ch.Nonce]++
		nc = a.nc[ch.Nonce]
		a.mu.Unlock()
	}
	ha1 := hx(a.creds.Username, ch.Realm, a.creds.Password)
	if ch.algo.sess { // RFC 2617 §3.2.2.2
		ha1 = hx(ha1, ch.Nonce, cnonce)
	}
	ha2 := hx(method, uri)
	if qop == "auth-int" {
		h.Reset()
		h.Write(body)
		ha2 = hx(method, uri, hex.EncodeToString(h.Sum(nil)))
	}
	var resp string
	if qop == "" {
		resp = hx(ha1, ch.Nonce, ha2)
	} else {
		resp = hx(ha1, ch.Nonce, fmt.Sprintf("%08x", nc), cnonce, qop, ha2)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	fmt.Fprintf(&b, `username=%s, realm=%s, nonce=%s, uri=%s, response=%s, algorithm=%s`,
		quote(a.creds.Username), quote(ch.Realm), quote(ch.Nonce), quote(uri), quote(resp), ch.algo.name)
	if ch.Opaque != "" {
		fmt.Fprintf(&b, ", opaque=%s", quote(ch.Opaque))
	}
	if qop != "" {
		fmt.Fprintf(&b, ", qop=%s, nc=%08x, cnonce=%s", qop, nc, quote(cnonce))
	} else if ch.algo.sess {
		fmt.Fprintf(&b, ", cnonce=%s", quote(cnonce))
	}
	return b.String()
}

// quote makes a quoted-string (RFC 3261 §25.1).
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func newCnonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
