package sip

import (
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// AllowsInfo reports whether the peer accepts INFO, going by the Allow header of its
// INVITE (inbound) or of its 2xx (outbound), RFC 3261 §20.5: true when it listed
// INFO or sent no Allow at all (unknown is worth a try; a refusal tells). A bridge
// asks before it sends a key as SIP INFO to a peer that negotiated no
// telephone-event, so a PBX that takes no INFO gets in-band tones at once.
func (c *Call) AllowsInfo() bool {
	c.mu.Lock()
	allow, known := c.peerAllow, c.peerAllowKnown
	c.mu.Unlock()
	return !known || allowsMethod(allow, string(gosip.INFO))
}

// notePeerAllow keeps the Allow headers of the peer's message, if it sent any.
func (c *Call) notePeerAllow(m gosip.Message) {
	hs := m.GetHeaders("Allow")
	if len(hs) == 0 {
		return
	}
	vals := make([]string, 0, len(hs))
	for _, h := range hs {
		vals = append(vals, h.Value())
	}
	c.mu.Lock()
	c.peerAllow, c.peerAllowKnown = strings.Join(vals, ","), true
	c.mu.Unlock()
}

// allowsMethod reports whether the comma-separated method list names method.
func allowsMethod(list, method string) bool {
	for m := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(m), method) {
			return true
		}
	}
	return false
}
