package registrar

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Binding is one contact of an address-of-record (RFC 3261 §10.2.1).
type Binding struct {
	// AOR is the canonical address-of-record, see AOR.
	AOR string
	// URI is the Contact URI: the Request-URI of requests to this phone.
	URI string
	// Contact is the Contact header value as registered (name-addr with its
	// parameters), without expires: what the 200 to a REGISTER lists.
	Contact string
	// Q is the contact's preference, 0 to 1 (RFC 3261 §10.2.1.2); 1 when not given.
	Q float64
	// Expires is when the binding ends unless refreshed.
	Expires time.Time
	// Registered is when the binding was created; Updated when it was last refreshed
	// (its freshness: among equal q, the freshest binding is tried first).
	Registered time.Time
	Updated    time.Time
	// CallID and CSeq are the last REGISTER's that changed the binding (§10.3 step 7).
	CallID string
	CSeq   uint32
	// Source is the socket address the REGISTER came from: where the phone's NAT
	// accepts requests for it (RFC 3581). Transport is "udp", "tcp", "tls"...
	Source    netip.AddrPort
	Transport string
	// Path is the route to the phone through the proxies that registered it
	// (RFC 3327), outermost first; empty when it registered directly.
	Path []string
	// UserAgent is the phone's User-Agent header.
	UserAgent string
	// InstanceID is the phone's +sip.instance (RFC 5626 §4.1), "" when not sent.
	InstanceID string
}

// ExpiresIn is the binding's remaining lifetime at now, rounded up to whole seconds
// (what the expires parameter of a 200 says, RFC 3261 §10.3 step 8); 0 if past.
func (b Binding) ExpiresIn(now time.Time) int {
	d := b.Expires.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// clone copies the binding so callers cannot modify the store's slices.
func (b Binding) clone() Binding {
	b.Path = slices.Clone(b.Path)
	return b
}

// sortBindings orders bindings as Lookup returns them: highest q first, then the
// freshest, then by URI for a stable order.
func sortBindings(bs []Binding) {
	slices.SortStableFunc(bs, func(a, b Binding) int {
		switch {
		case a.Q != b.Q:
			if a.Q > b.Q {
				return -1
			}
			return 1
		case !a.Updated.Equal(b.Updated):
			return b.Updated.Compare(a.Updated)
		}
		return strings.Compare(a.URI, b.URI)
	})
}

// AOR is the canonical address-of-record of user in domain: sip:user@domain with the
// domain lowercased (RFC 3261 §10.3 step 5: the AOR is converted to canonical form;
// hosts compare case-insensitively, users do not, §19.1.4). The registrar and its
// readers (the ACD) build keys with it.
func AOR(user, domain string) string {
	return "sip:" + user + "@" + strings.ToLower(domain)
}

// EventKind says what changed for an address-of-record.
type EventKind uint8

// Event kinds. The zero value is Unknown.
const (
	EventUnknown EventKind = iota
	// EventOnline: the AOR had no binding and now has one (the agent's phone came up).
	EventOnline
	// EventOffline: the AOR's last binding went away (unregistered or expired).
	EventOffline
	// EventChanged: the AOR stays online but its set of contacts changed (a second
	// phone, one phone gone). Refreshes that change nothing else are not reported.
	EventChanged
)

func (k EventKind) String() string {
	switch k {
	case EventOnline:
		return "online"
	case EventOffline:
		return "offline"
	case EventChanged:
		return "changed"
	}
	return "unknown"
}

// Cause says why bindings changed.
type Cause uint8

// Causes. The zero value is Unknown.
const (
	CauseUnknown Cause = iota
	// CauseRegistered: a REGISTER added or removed contacts.
	CauseRegistered
	// CauseUnregistered: a REGISTER removed contacts (Expires: 0 or Contact: *)
	// and added none.
	CauseUnregistered
	// CauseExpired: bindings reached their expiry without a refresh.
	CauseExpired
)

func (c Cause) String() string {
	switch c {
	case CauseRegistered:
		return "registered"
	case CauseUnregistered:
		return "unregistered"
	case CauseExpired:
		return "expired"
	}
	return "unknown"
}

// Event reports a change of an AOR's bindings.
type Event struct {
	Kind  EventKind
	Cause Cause
	AOR   string
	// Bindings are the AOR's bindings after the change, ordered as Lookup orders them.
	Bindings []Binding
	// At is when the change happened.
	At time.Time
}
