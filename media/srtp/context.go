package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what RFC 3711 §4.2.1 specifies
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// Errors of Unprotect, for the caller's metric by reason; the packet is to be dropped.
var (
	// ErrShort: too short for a header and the authentication tag.
	ErrShort = errors.New("srtp: packet too short")
	// ErrAuth: the authentication tag does not match (wrong key, tampering, or a
	// plain RTP packet on an SRTP call).
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrReplay: the packet index was seen already or is too old for the replay list.
	ErrReplay = errors.New("srtp: replayed packet")
	// ErrNoRoom is returned by Protect when the buffer cannot hold the tag.
	ErrNoRoom = errors.New("srtp: no room for the authentication tag")
)

// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
const (
	labelRTPKey, labelRTPAuth, labelRTPSalt    = 0x00, 0x01, 0x02
	labelRTCPKey, labelRTCPAuth, labelRTCPSalt = 0x03, 0x04, 0x05
)

const (
	authKeyLen  = 20 // n_a for HMAC-SHA1 (RFC 3711 §8.2)
	rtcpTagLen  = 10 // SRTCP keeps the 80-bit tag with both suites (RFC 4568 §6.2.2)
	replayWidth = 64 // replay list size (RFC 3711 §3.3.2 asks for at least 64)
	maxStreams  = 4  // sources tracked per context: audio plus a few restarts
	maxIndex31  = 1<<31 - 1
	rtcpEFlag   = 1 << 31
	rtpHeader   = 12
	rtcpHeader  = 8
)

// Context is one direction's SRTP and SRTCP crypto context (RFC 3711 §3.2): the
// session keys derived from one master key, and per synchronisation source the
// rollover counter and replay list. A sending Context only Protects, a receiving one
// only Unprotects. The RTP methods and the RTCP methods each take their own lock, so
// the RTP and RTCP receive goroutines never wait for each other.
type Context struct {
	suite  Suite
	tagLen int
	rtp    half
	rtcp   half
}

// half is the state of one of SRTP or SRTCP: keys, scratch and sources.
type half struct {
	mu      sync.Mutex
	block   cipher.Block
	salt    [SaltLen]byte
	mac     hash.Hash
	sum     [sha1.Size]byte
	iv      [aes.BlockSize]byte
	ks      [aes.BlockSize]byte
	roc     [4]byte
	streams [maxStreams]stream
	used    uint64 // clock for least-recently-used replacement of streams
	index   uint32 // SRTCP: the next index we send
}

// stream is one source's state: the highest index authenticated (ROC and s_l for
// SRTP, the SRTCP index for SRTCP) and the replay bitmap below it.
type stream struct {
	ssrc    uint32
	valid   bool
	highest uint64
	window  uint64 // bit i: highest-i was received
	used    uint64
}

// NewContext derives the session keys of k (RFC 3711 §4.3 with a key derivation rate
// of 0) for one direction.
func NewContext(k Keying) (*Context, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w: unknown suite", ErrKeying)
	}
	master, err := aes.NewCipher(k.Key[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeying, err)
	}
	c := &Context{suite: k.Suite, tagLen: k.Suite.TagLen()}
	if err := c.rtp.init(master, &k.Salt, labelRTPKey, labelRTPAuth, labelRTPSalt); err != nil {
		return nil, err
	}
	if err := c.rtcp.init(master, &k.Salt, labelRTCPKey, labelRTCPAuth, labelRTCPSalt); err != nil {
		return nil, err
	}
	return c, nil
}

// Suite is the context's crypto suite.
func (c *Context) Suite() Suite { return c.suite }

func (h *half) init(master cipher.Block, salt *[SaltLen]byte, lKey, lAuth, lSalt byte) error {
	var key [KeyLen]byte
	var auth [authKeyLen]byte
	derive(master, salt, lKey, key[:])
	derive(master, salt, lAuth, auth[:])
	derive(master, salt, lSalt, h.salt[:])
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeying, err)
	}
	h.block = b
	h.mac = hmac.New(sha1.New, auth[:])
	clear(key[:])
	clear(auth[:])
	return nil
}

// derive is the AES-CM PRF of RFC 3711 §4.3.1 and §4.3.3 with r = 0: x is the master
// salt with the label XORed into its eighth octet (key_id = label || 48 zero bits,
// right-aligned), and the output is the keystream from IV = x·2^16.
func derive(master cipher.Block, salt *[SaltLen]byte, label byte, out []byte) {
	var iv, ks [aes.BlockSize]byte
	copy(iv[:], salt[:])
	iv[7] ^= label
	for j := 0; len(out) > 0; j++ {
		binary.BigEndian.PutUint16(iv[14:], uint16(j))
		master.Encrypt(ks[:], iv[:])
		out = out[copy(out, ks[:]):]
	}
}

// xorKeystream encrypts or decrypts b with the AES-CM keystream for ssrc and index
// (RFC 3711 §4.1.1: IV = k_s·2^16 XOR SSRC·2^64 XOR i·2^16). The caller holds h.mu.
func (h *half) xorKeystream(b []byte, ssrc uint32, index uint64) {
	clear(h.iv[:])
	copy(h.iv[:], h.salt[:])
	h.iv[4] ^= byte(ssrc >> 24)
	h.iv[5] ^= byte(ssrc >> 16)
	h.iv[6] ^= byte(ssrc >> 8)
	h.iv[7] ^= byte(ssrc)
	for i := 0; i < 6; i++ {
		h.iv[8+i] ^= byte(index >> (40 - 8*i))
	}
	for j := 0; len(b) > 0; j++ {
		binary.BigEndian.PutUint16(h.iv[14:], uint16(j))
		h.block.Encrypt(h.ks[:], h.iv[:])
		n := subtle.XORBytes(b, b, h.ks[:])
		b = b[n:]
	}
}

// tag computes HMAC-SHA1 over m, then over extra (the ROC for SRTP), into h.sum.
func (h *half) tag(m, extra []byte) []byte {
	h.mac.Reset()
	h.mac.Write(m)
	if len(extra) > 0 {
		h.mac.Write(extra)
	}
	return h.mac.Sum(h.sum[:0])
}

// stream finds ssrc's state, or nil.
func (h *half) stream(ssrc uint32) *stream {
	for i := range h.streams {
		if st := &h.streams[i]; st.valid && st.ssrc == ssrc {
			return st
		}
	}
	return nil
}

// adopt takes a slot for a new source: a free one, else the least recently used.
func (h *half) adopt(ssrc uint32) *stream {
	victim := &h.streams[0]
	for i := range h.streams {
		st := &h.streams[i]
		if !st.valid {
			victim = st
			break
		}
		if st.used < victim.used {
			victim = st
		}
	}
	*victim = stream{ssrc: ssrc}
	return victim
}

// rtpHeaderLen is the length of the RTP header in pkt, including CSRCs and the
// extension (RFC 3550 §5.1, §5.3.1): the part SRTP authenticates but does not encrypt.
func rtpHeaderLen(pkt []byte) (int, bool) {
	if len(pkt) < rtpHeader || pkt[0]>>6 != 2 {
		return 0, false
	}
	n := rtpHeader + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < n+4 {
			return 0, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if n > len(pkt) {
		return 0, false
	}
	return n, true
}

// estimate is the packet index of seq given the highest index seen (RFC 3711 §3.3.1
// and Appendix A): the ROC that puts seq nearest to s_l.
func estimate(highest uint64, seq uint16) uint64 {
	roc, sl := highest>>16, uint16(highest)
	v := roc
	if sl < 1<<15 {
		if int(seq)-int(sl) > 1<<15 && roc > 0 {
			v = roc - 1
		}
	} else if int(sl)-1<<15 > int(seq) {
		v = roc + 1
	}
	return v<<16 | uint64(seq)
}

// ProtectRTP encrypts and authenticates the RTP packet buf[:n] in place (RFC 3711 §3.3)
// and returns the SRTP packet's length, n plus the tag; buf must have room for it.
func (c *Context) ProtectRTP(buf []byte, n int) (int, error) {
	hl, ok := rtpHeaderLen(buf[:n])
	if !ok {
		return 0, ErrShort
	}
	if len(buf) < n+c.tagLen {
		return 0, ErrNoRoom
	}
	h := &c.rtp
	h.mu.Lock()
	defer h.mu.Unlock()
	ssrc := binary.BigEndian.Uint32(buf[8:])
	seq := binary.BigEndian.Uint16(buf[2:])
	st := h.stream(ssrc)
	var index uint64
	if st == nil {
		st = h.adopt(ssrc)
		index = uint64(seq)
		st.highest, st.valid = index, true
	} else {
		index = estimate(st.highest, seq)
		st.highest = max(st.highest, index)
	}
	h.used++
	st.used = h.used
	h.xorKeystream(buf[hl:n], ssrc, index)
	binary.BigEndian.PutUint32(h.roc[:], uint32(index>>16))
	sum := h.tag(buf[:n], h.roc[:])
	copy(buf[n:n+c.tagLen], sum)
	return n + c.tagLen, nil
}

// UnprotectRTP authenticates and decrypts the SRTP packet pkt in place and returns the
// RTP packet's length. A packet that fails (ErrShort, ErrAuth, ErrReplay) leaves the
// context unchanged and must be dropped.
func (c *Context) UnprotectRTP(pkt []byte) (int, error) {
	n := len(pkt) - c.tagLen
	if n < rtpHeader {
		return 0, ErrShort
	}
	hl, ok := rtpHeaderLen(pkt[:n])
	if !ok {
		return 0, ErrShort
	}
	h := &c.rtp
	h.mu.Lock()
	defer h.mu.Unlock()
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	st := h.stream(ssrc)
	index := uint64(seq) // a new source starts with ROC 0 (RFC 3711 §3.3.1)
	if st != nil {
		index = estimate(st.highest, seq)
		if replayed(st, index) {
			return 0, ErrReplay
		}
	}
	binary.BigEndian.PutUint32(h.roc[:], uint32(index>>16))
	sum := h.tag(pkt[:n], h.roc[:])
	if !hmac.Equal(sum[:c.tagLen], pkt[n:]) {
		return 0, ErrAuth
	}
	if st == nil {
		st = h.adopt(ssrc)
		st.highest, st.window, st.valid = index, 1, true
	} else {
		accept(st, index)
	}
	h.used++
	st.used = h.used
	h.xorKeystream(pkt[hl:n], ssrc, index)
	return n, nil
}

// replayed reports whether index was received already or is older than the list.
func replayed(st *stream, index uint64) bool {
	if index > st.highest {
		return false
	}
	d := st.highest - index
	return d >= replayWidth || st.window&(1<<d) != 0
}

// accept records an authenticated index in the replay list.
func accept(st *stream, index uint64) {
	if index > st.highest {
		d := index - st.highest
		if d >= replayWidth {
			st.window = 1
		} else {
			st.window = st.window<<d | 1
		}
		st.highest = index
		return
	}
	st.window |= 1 << (st.highest - index)
}

// ProtectRTCP encrypts and authenticates the compound RTCP packet buf[:n] in place
// (RFC 3711 §3.4): the first eight octets stay clear, then come the E flag with the
// 31-bit SRTCP index and the 80-bit tag. It returns the SRTCP packet's length.
func (c *Context) ProtectRTCP(buf []byte, n int) (int, error) {
	if n < rtcpHeader {
		return 0, ErrShort
	}
	if len(buf) < n+4+rtcpTagLen {
		return 0, ErrNoRoom
	}
	h := &c.rtcp
	h.mu.Lock()
	defer h.mu.Unlock()
	index := h.index
	h.index = (h.index + 1) & maxIndex31
	ssrc := binary.BigEndian.Uint32(buf[4:])
	h.xorKeystream(buf[rtcpHeader:n], ssrc, uint64(index))
	binary.BigEndian.PutUint32(buf[n:], rtcpEFlag|index)
	sum := h.tag(buf[:n+4], nil)
	copy(buf[n+4:n+4+rtcpTagLen], sum)
	return n + 4 + rtcpTagLen, nil
}

// UnprotectRTCP authenticates and, when the E flag says so, decrypts the SRTCP packet
// pkt in place and returns the compound RTCP packet's length.
func (c *Context) UnprotectRTCP(pkt []byte) (int, error) {
	n := len(pkt) - rtcpTagLen - 4
	if n < rtcpHeader {
		return 0, ErrShort
	}
	h := &c.rtcp
	h.mu.Lock()
	defer h.mu.Unlock()
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	ei := binary.BigEndian.Uint32(pkt[n:])
	index := uint64(ei & maxIndex31)
	st := h.stream(ssrc)
	if st != nil && replayed(st, index) {
		return 0, ErrReplay
	}
	sum := h.tag(pkt[:n+4], nil)
	if !hmac.Equal(sum[:rtcpTagLen], pkt[n+4:]) {
		return 0, ErrAuth
	}
	if st == nil {
		st = h.adopt(ssrc)
		st.highest, st.window, st.valid = index, 1, true
	} else {
		accept(st, index)
	}
	h.used++
	st.used = h.used
	if ei&rtcpEFlag != 0 {
		h.xorKeystream(pkt[rtcpHeader:n], ssrc, index)
	}
	return n, nil
}
