package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"sync"
	"time"
)

// A nonce is base64url(version | issued | random | mac):
//
//	version  1 byte   nonceVersion, so the format can change without confusion
//	issued   8 bytes  Unix nanoseconds when the challenge was made
//	random   8 bytes  makes every nonce distinct, so nonce counts never collide
//	mac     16 bytes  HMAC-SHA256(secret, version|issued|random | realm | 0 | client IP)
//
// RFC 7616 §3.3 suggests exactly this shape (a timestamp and a keyed hash of it and of
// the client's address) for a server that wants no per-nonce state: the MAC proves we
// issued it, to this client, for this realm, and when. 128 bits of MAC are plenty
// against forgery over a nonce's few minutes of life; the nonce stays a 44-character
// token that needs no escaping.
const (
	nonceVersion = 1
	noncePayload = 1 + 8 + 8
	nonceMACLen  = 16
	nonceRawLen  = noncePayload + nonceMACLen
	nonceLen     = (nonceRawLen*8 + 5) / 6 // base64 without padding: 44
	// maxClockSkew tolerates nodes whose clocks run slightly apart: a nonce issued
	// by a node up to this far ahead is not rejected as from the future.
	maxClockSkew = 5 * time.Second
)

var errNonce = errors.New("auth: nonce not issued by this server to this client")

// nonces issues and checks nonces under one secret and realm.
type nonces struct {
	realm string
	pool  sync.Pool // of hash.Hash: HMAC-SHA256 keyed with the secret
}

func newNonces(secret []byte, realm string) *nonces {
	n := &nonces{realm: realm}
	key := append([]byte(nil), secret...)
	n.pool.New = func() any { return hmac.New(sha256.New, key) }
	return n
}

// issue returns a fresh nonce for a client at src.
func (n *nonces) issue(now time.Time, src netip.Addr) string {
	var raw [nonceRawLen]byte
	raw[0] = nonceVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[9:noncePayload]) // crypto/rand never fails on supported platforms
	var sum [sha256.Size]byte
	copy(raw[noncePayload:], n.mac(sum[:0], raw[:noncePayload], src))
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// check verifies that nonce was issued by a holder of the secret for this realm and
// src, and returns when. The MAC is compared in constant time (hmac.Equal).
func (n *nonces) check(nonce string, src netip.Addr) (time.Time, error) {
	if len(nonce) != nonceLen {
		return time.Time{}, errNonce
	}
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return time.Time{}, errNonce
	}
	if raw[0] != nonceVersion {
		return time.Time{}, errNonce
	}
	var want [sha256.Size]byte
	if !hmac.Equal(n.mac(want[:0], raw[:noncePayload], src), raw[noncePayload:]) {
		return time.Time{}, errNonce
	}
	issued := int64(binary.BigEndian.Uint64(raw[1:9]))
	return time.Unix(0, issued), nil
}

// mac appends the truncated MAC of payload for src to dst.
func (n *nonces) mac(dst, payload []byte, src netip.Addr) []byte {
	h := n.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(payload)
	h.Write([]byte(n.realm))
	h.Write([]byte{0})
	ip := src.Unmap().As16() // an IPv4 client is the same client over a dual-stack socket
	h.Write(ip[:])
	var sum [sha256.Size]byte
	out := h.Sum(sum[:0])
	n.pool.Put(h)
	return append(dst, out[:nonceMACLen]...)
}
