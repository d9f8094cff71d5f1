package registrar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// bigInterval is RFC 3261 §10.3 step 5's hour: a request for at least this long is
// never refused as too brief (it is raised to MinExpires instead).
const bigInterval = 3600

// Merge applies r to current, the AOR's bindings, as RFC 3261 §10.3 steps 5 to 7
// prescribe, and returns the AOR's bindings afterwards (sorted as Lookup sorts). It
// changes nothing on error: every update of a request applies or none does (step
// 7's last paragraph). Bindings in current that expired by now are dropped. Merge is
// pure, so every Registrar implementation runs it inside its own atomic step.
func (p Policy) Merge(current []Binding, r Request, now time.Time) ([]Binding, error) {
	p = p.withDefaults()
	if r.AOR == "" || r.CallID == "" {
		return nil, refuse(ErrInvalidRequest, "no address-of-record or Call-ID")
	}
	live := make([]Binding, 0, len(current)+len(r.Contacts))
	for _, b := range current {
		if b.Expires.After(now) {
			live = append(live, b.clone())
		}
	}
	if r.Wildcard {
		return p.removeAll(live, r)
	}
	if len(r.Contacts) == 0 {
		sortBindings(live)
		return live, nil // a query (§10.3 step 6 does nothing, step 8 lists the bindings)
	}
	// Step 5: each contact's interval, all checked before anything changes.
	intervals := make([]time.Duration, len(r.Contacts))
	for i, c := range r.Contacts {
		d, err := p.interval(c.Expires, r.Expires)
		if err != nil {
			return nil, err
		}
		intervals[i] = d
	}
	next := live
	index := make(map[string]int, len(next))
	for i, b := range next {
		index[contactKey(b.URI)] = i
	}
	touched := make(map[string]bool, len(r.Contacts))
	removed := make(map[int]bool)
	// Step 7: update, add or remove each contact's binding.
	for i, c := range r.Contacts {
		k := contactKey(c.URI)
		d := intervals[i]
		j, exists := index[k]
		if exists && !touched[k] {
			b := next[j]
			if b.CallID == r.CallID && r.CSeq <= b.CSeq {
				return nil, refuse(ErrOutOfOrder, fmt.Sprintf("CSeq %d not above %d for %s", r.CSeq, b.CSeq, c.URI))
			}
		}
		touched[k] = true
		switch {
		case d == 0 && exists:
			removed[j] = true
		case d == 0:
			// Removing what is not there: nothing to do.
		case exists:
			delete(removed, j) // a later duplicate in the same request wins
			next[j] = p.bind(next[j], c, r, now, d)
		default:
			index[k] = len(next)
			next = append(next, p.bind(Binding{AOR: r.AOR, Registered: now}, c, r, now, d))
		}
	}
	out := next[:0]
	for i, b := range next {
		if !removed[i] {
			out = append(out, b)
		}
	}
	if len(out) > p.MaxContacts && len(out) > len(live) {
		return nil, refuse(ErrTooManyContacts, fmt.Sprintf("%d contacts, at most %d", len(out), p.MaxContacts))
	}
	sortBindings(out)
	return out, nil
}

// removeAll is Contact: * (§10.3 step 6): only with Expires: 0 and no other contact,
// and like any update it must not undo a newer REGISTER of the same Call-ID (step 7).
func (p Policy) removeAll(live []Binding, r Request) ([]Binding, error) {
	if len(r.Contacts) > 0 || r.Expires != 0 {
		return nil, refuse(ErrInvalidWildcard, "Contact: * needs Expires: 0 and no other contact")
	}
	for _, b := range live {
		if b.CallID == r.CallID && r.CSeq <= b.CSeq {
			return nil, refuse(ErrOutOfOrder, fmt.Sprintf("CSeq %d not above %d", r.CSeq, b.CSeq))
		}
	}
	return []Binding{}, nil
}

// interval is a contact's expiry (§10.3 step 5): its expires parameter, else the
// Expires header, else the default; above MaxExpires shortened; below MinExpires
// refused with 423 unless it is an hour or more (then raised). Zero removes.
func (p Policy) interval(contact, header int64) (time.Duration, error) {
	e := contact
	if e == NoExpires {
		e = header
	}
	if e == NoExpires {
		return p.DefaultExpires, nil
	}
	e = max(0, min(e, MaxDeltaSeconds))
	d := time.Duration(e) * time.Second
	if e > 0 && d < p.MinExpires {
		if e < bigInterval {
			err := refuse(ErrIntervalTooBrief, fmt.Sprintf("%d s below %v", e, p.MinExpires))
			err.MinExpires = int(p.MinExpires / time.Second)
			return 0, err
		}
		d = p.MinExpires
	}
	return min(d, p.MaxExpires), nil
}

// bind writes contact c of request r into b.
func (p Policy) bind(b Binding, c Contact, r Request, now time.Time, d time.Duration) Binding {
	b.URI, b.Contact, b.Q, b.InstanceID = c.URI, c.Value, c.Q, c.InstanceID
	b.Expires, b.Updated = now.Add(d), now
	b.CallID, b.CSeq = r.CallID, r.CSeq
	b.Source, b.Transport = r.Source, r.Transport
	b.Path = append([]string(nil), r.Path...)
	b.UserAgent = r.UserAgent
	return b
}

// contactKey identifies a binding by its URI under RFC 3261 §19.1.4's comparison:
// scheme and host case-insensitive, user and port exact, and the parameters that
// must match when present (transport, maddr, ttl, user, method). Other parameters
// do not distinguish bindings. An unparsable URI is its own key.
func contactKey(uri string) string {
	var u gosip.Uri
	if err := gosip.ParseUri(uri, &u); err != nil || u.Wildcard {
		return uri
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(u.Scheme))
	b.WriteByte(':')
	b.WriteString(u.User)
	b.WriteByte('@')
	b.WriteString(strings.ToLower(u.Host))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(u.Port))
	var params []string
	for _, k := range u.UriParams.Keys() { // parameter names are case-insensitive
		switch name := strings.ToLower(k); name {
		case "transport", "maddr", "ttl", "user", "method":
			v, _ := u.UriParams.Get(k)
			params = append(params, name+"="+strings.ToLower(v))
		}
	}
	slices.Sort(params)
	for _, p := range params {
		b.WriteString(";" + p)
	}
	return b.String()
}
