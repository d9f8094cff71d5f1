package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Registrar stores the bindings of address-of-records. Implementations are safe for
// concurrent use.
type Registrar interface {
	// Register applies one REGISTER (RFC 3261 §10.3 steps 5 to 7) atomically and
	// returns the AOR's bindings afterwards, ordered as Lookup orders them. A
	// request without contacts only fetches them. Errors are *Error (with their SIP
	// status) or a store failure (500).
	Register(ctx context.Context, r Request) ([]Binding, error)
	// Lookup returns aor's live bindings, highest q first, then the freshest.
	Lookup(aor string) []Binding
	// Watch calls fn for every change of any AOR's bindings, in order, from one
	// goroutine of the registrar's. fn must not block for long (it delays every
	// later event); it may call the registrar and stop. After stop returns, fn is
	// called at most once more (an event already being delivered).
	Watch(fn func(Event)) (stop func())
	// ContactCount is the number of live bindings over all AORs.
	ContactCount() int
}

// NoExpires marks an absent expires value in Request and Contact.
const NoExpires = -1

// MaxDeltaSeconds is the largest expires value; larger ones are read as it (RFC 3261
// §20.19: 2**32-1).
const MaxDeltaSeconds = 1<<32 - 1

// Request is one REGISTER reduced to what the registrar needs.
type Request struct {
	// AOR is the canonical address-of-record from the To header (see AOR).
	AOR string
	// CallID and CSeq order requests from one phone (§10.3 step 7).
	CallID string
	CSeq   uint32
	// Expires is the Expires header in seconds, NoExpires when absent.
	Expires int64
	// Wildcard is true for Contact: * (§10.3 step 6); Contacts are then empty.
	Wildcard bool
	// Contacts are the Contact header values; none means a fetch.
	Contacts []Contact
	// Source and Transport are where the REGISTER came from (the socket).
	Source    netip.AddrPort
	Transport string
	// Path is the request's Path header values (RFC 3327), outermost first.
	Path []string
	// UserAgent is the User-Agent header.
	UserAgent string
}

// Contact is one Contact header value of a REGISTER.
type Contact struct {
	// URI is the contact URI.
	URI string
	// Value is the whole header value without the expires parameter.
	Value string
	// Expires is the expires parameter in seconds, NoExpires when absent.
	Expires int64
	// Q is the q parameter, 1 when absent.
	Q float64
	// InstanceID is the +sip.instance parameter, "" when absent.
	InstanceID string
}

// Defaults of Policy.
const (
	// DefaultExpires is RFC 3261 §10.2.1.1's suggestion: an hour.
	DefaultExpires = time.Hour
	// DefaultMinExpires: shorter registrations cost more refreshes than they
	// save in detection time; 60 s is what common registrars require.
	DefaultMinExpires = 60 * time.Second
	// DefaultMaxExpires bounds how long a vanished phone stays registered.
	DefaultMaxExpires = 2 * time.Hour
	// DefaultMaxContacts bounds the bindings per AOR.
	DefaultMaxContacts = 10
)

// Policy is the registrar's local policy (RFC 3261 §10.3 step 5). Zero fields take the
// defaults.
type Policy struct {
	// DefaultExpires applies when a contact and the request give none.
	DefaultExpires time.Duration
	// MinExpires: shorter non-zero requests are refused with 423 (Min-Expires says
	// this value). Whole seconds.
	MinExpires time.Duration
	// MaxExpires: longer requests are shortened to it.
	MaxExpires time.Duration
	// MaxContacts bounds the bindings of one AOR; a REGISTER that would exceed it is
	// refused (403) and changes nothing.
	MaxContacts int
}

func (p Policy) withDefaults() Policy {
	if p.DefaultExpires <= 0 {
		p.DefaultExpires = DefaultExpires
	}
	if p.MinExpires <= 0 {
		p.MinExpires = DefaultMinExpires
	}
	if p.MaxExpires <= 0 {
		p.MaxExpires = DefaultMaxExpires
	}
	if p.MaxContacts <= 0 {
		p.MaxContacts = DefaultMaxContacts
	}
	return p
}

// Validate reports every inconsistency of the policy (after defaults).
func (p Policy) Validate() error {
	p = p.withDefaults()
	var errs []error
	if p.MinExpires%time.Second != 0 || p.MaxExpires%time.Second != 0 || p.DefaultExpires%time.Second != 0 {
		errs = append(errs, errors.New("registrar: expiry bounds must be whole seconds"))
	}
	if p.MinExpires > p.MaxExpires {
		errs = append(errs, fmt.Errorf("registrar: min expires %v above max expires %v", p.MinExpires, p.MaxExpires))
	}
	if p.DefaultExpires < p.MinExpires || p.DefaultExpires > p.MaxExpires {
		errs = append(errs, fmt.Errorf("registrar: default expires %v outside [%v, %v]", p.DefaultExpires, p.MinExpires, p.MaxExpires))
	}
	return errors.Join(errs...)
}

// Error is a REGISTER refused by the registrar's rules; it knows its SIP status.
type Error struct {
	// Status and Phrase are the SIP response (423 Interval Too Brief...).
	Status int
	Phrase string
	// Label is the metric label for the outcome.
	Label string
	// MinExpires is the Min-Expires header value of a 423, in seconds.
	MinExpires int
	// Detail says what was wrong, for logs.
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("registrar: %d %s: %s", e.Status, e.Phrase, e.Detail)
	}
	return fmt.Sprintf("registrar: %d %s", e.Status, e.Phrase)
}

// Is matches errors of the same kind (label), so errors.Is(err, ErrIntervalTooBrief)
// holds for a 423 whatever its Min-Expires.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Label == e.Label
}

// The registrar's refusals.
var (
	// ErrIntervalTooBrief: 423, RFC 3261 §10.3 step 5 / §21.4.17.
	ErrIntervalTooBrief = &Error{Status: 423, Phrase: "Interval Too Brief", Label: "interval_too_brief"}
	// ErrInvalidWildcard: Contact: * with other contacts or a non-zero Expires,
	// 400 per §10.3 step 6.
	ErrInvalidWildcard = &Error{Status: 400, Phrase: "Invalid Wildcard", Label: "bad_request"}
	// ErrOutOfOrder: a REGISTER of the same Call-ID with a CSeq not above the
	// binding's; §10.3 step 7 fails it, with 500 like any failed update.
	ErrOutOfOrder = &Error{Status: 500, Phrase: "Out Of Order Registration", Label: "out_of_order"}
	// ErrTooManyContacts: the AOR would exceed Policy.MaxContacts.
	ErrTooManyContacts = &Error{Status: 403, Phrase: "Too Many Contacts", Label: "too_many_contacts"}
	// ErrInvalidRequest: a request the registrar cannot use (no AOR or Call-ID).
	ErrInvalidRequest = &Error{Status: 400, Phrase: "Bad Request", Label: "bad_request"}
)

func refuse(base *Error, detail string) *Error {
	e := *base
	e.Detail = detail
	return &e
}

// ErrClosed is returned by Register after Close.
var ErrClosed = errors.New("registrar: closed")
