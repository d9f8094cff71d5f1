package registrar

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

const aor = "sip:agent1@hotline.test"

var (
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	src = netip.MustParseAddrPort("192.0.2.10:5062")
)

func contact(uri string, expires int64) Contact {
	return Contact{URI: uri, Value: "<" + uri + ">", Expires: expires, Q: 1}
}

func req(callID string, cseq uint32, expires int64, cs ...Contact) Request {
	return Request{AOR: aor, CallID: callID, CSeq: cseq, Expires: expires, Contacts: cs,
		Source: src, Transport: "udp", UserAgent: "test"}
}

// merge runs Policy.Merge and fails the test on error.
func merge(t *testing.T, p Policy, cur []Binding, r Request, now time.Time) []Binding {
	t.Helper()
	out, err := p.Merge(cur, r, now)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return out
}

func uris(bs []Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.URI
	}
	return out
}

// TestMergeExpiry: RFC 3261 §10.3 step 5: the contact's expires, else Expires, else
// the default; shortened to the maximum; below the minimum 423 with Min-Expires,
// except for an hour or more, which is raised.
func TestMergeExpiry(t *testing.T) {
	p := Policy{MinExpires: 60 * time.Second, MaxExpires: 7200 * time.Second, DefaultExpires: 3600 * time.Second}
	for _, tc := range []struct {
		name          string
		header, param int64
		want          time.Duration
		tooBrief      bool
		policy        *Policy
	}{
		{name: "header", header: 600, param: NoExpires, want: 600 * time.Second},
		{name: "param wins", header: 600, param: 120, want: 120 * time.Second},
		{name: "default", header: NoExpires, param: NoExpires, want: time.Hour},
		{name: "shortened", header: 86400, param: NoExpires, want: 7200 * time.Second},
		{name: "beyond 2^32-1", header: 1 << 40, param: NoExpires, want: 7200 * time.Second},
		{name: "minimum itself", header: 60, param: NoExpires, want: 60 * time.Second},
		{name: "too brief", header: 30, param: NoExpires, tooBrief: true},
		{name: "too brief param", header: 600, param: 1, tooBrief: true},
		{name: "hour raised to min", header: 3600, param: NoExpires, want: 2 * time.Hour,
			policy: &Policy{MinExpires: 2 * time.Hour, MaxExpires: 3 * time.Hour, DefaultExpires: 2 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := p
			if tc.policy != nil {
				pol = *tc.policy
			}
			out, err := pol.Merge(nil, req("c1", 1, tc.header, contact("sip:agent1@10.0.0.5:5060", tc.param)), t0)
			if tc.tooBrief {
				var e *Error
				if !errors.Is(err, ErrIntervalTooBrief) || !errors.As(err, &e) || e.Status != 423 || e.MinExpires != 60 {
					t.Fatalf("err %v (%+v), want 423 with Min-Expires 60", err, e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || out[0].Expires != t0.Add(tc.want) || out[0].ExpiresIn(t0) != int(tc.want/time.Second) {
				t.Errorf("bindings %+v, want expiry in %v", out, tc.want)
			}
		})
	}
}

// TestMergeBinding: a new binding carries everything the ACD needs to reach the phone.
func TestMergeBinding(t *testing.T) {
	r := req("c1", 7, 600, Contact{URI: "sip:agent1@10.0.0.5:5060;transport=tcp", Value: `<sip:agent1@10.0.0.5:5060;transport=tcp>;q=0.7;+sip.instance="<urn:uuid:1>"`,
		Expires: NoExpires, Q: 0.7, InstanceID: "<urn:uuid:1>"})
	r.Path = []string{"<sip:edge.example.com;lr>"}
	r.Transport = "tcp"
	out := merge(t, Policy{}, nil, r, t0)
	want := Binding{AOR: aor, URI: "sip:agent1@10.0.0.5:5060;transport=tcp", Contact: r.Contacts[0].Value, Q: 0.7,
		Expires: t0.Add(600 * time.Second), Registered: t0, Updated: t0, CallID: "c1", CSeq: 7, Source: src,
		Transport: "tcp", Path: []string{"<sip:edge.example.com;lr>"}, UserAgent: "test", InstanceID: "<urn:uuid:1>"}
	if len(out) != 1 {
		t.Fatalf("%d bindings", len(out))
	}
	got := out[0]
	if got.Path[0] != want.Path[0] {
		t.Errorf("Path %q", got.Path)
	}
	got.Path, want.Path = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("binding\n%+v\nwant\n%+v", got, want)
	}
	r.Path[0] = "changed"
	if out[0].Path[0] == "changed" {
		t.Error("binding shares the request's Path slice")
	}
}

// TestMergeOrdering: RFC 3261 §10.3 step 7: the same Call-ID must come with a higher
// CSeq, or the whole request fails and nothing changes; another Call-ID (a rebooted
// phone) always updates.
func TestMergeOrdering(t *testing.T) {
	p := Policy{}
	cur := merge(t, p, nil, req("c1", 5, 600, contact("sip:a@10.0.0.5", NoExpires)), t0)
	for _, tc := range []struct {
		name string
		r    Request
		ok   bool
	}{
		{"same cseq", req("c1", 5, 900, contact("sip:a@10.0.0.5", NoExpires)), false},
		{"lower cseq", req("c1", 4, 0, contact("sip:a@10.0.0.5", NoExpires)), false},
		{"lower cseq wildcard", Request{AOR: aor, CallID: "c1", CSeq: 3, Wildcard: true, Expires: 0}, false},
		{"lower cseq with a new contact too", req("c1", 4, 600, contact("sip:b@10.0.0.6", NoExpires), contact("sip:a@10.0.0.5", NoExpires)), false},
		{"higher cseq", req("c1", 6, 900, contact("sip:a@10.0.0.5", NoExpires)), true},
		{"other call-id, lower cseq", req("c2", 1, 900, contact("sip:a@10.0.0.5", NoExpires)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := p.Merge(cur, tc.r, t0.Add(time.Second))
			if tc.ok {
				if err != nil || len(out) != 1 || out[0].Expires != t0.Add(901*time.Second) || out[0].CallID != tc.r.CallID {
					t.Errorf("update refused or wrong: %+v %v", out, err)
				}
				return
			}
			var e *Error
			if !errors.Is(err, ErrOutOfOrder) || !errors.As(err, &e) || e.Status != 500 {
				t.Errorf("err %v, want 500 out of order", err)
			}
		})
	}
	if cur[0].CSeq != 5 || cur[0].Expires != t0.Add(600*time.Second) {
		t.Errorf("Merge modified its input: %+v", cur[0])
	}
}

// TestMergeRemoval: Expires: 0 (header or parameter) removes one binding, Contact: *
// with Expires: 0 all of them (§10.3 step 6); * with anything else is a 400.
func TestMergeRemoval(t *testing.T) {
	p := Policy{}
	cur := merge(t, p, nil, req("c1", 1, 600, contact("sip:a@10.0.0.5", NoExpires), contact("sip:b@10.0.0.6", NoExpires)), t0)
	cur = merge(t, p, cur, req("c2", 1, 600, contact("sip:c@10.0.0.7", NoExpires)), t0)
	if len(cur) != 3 {
		t.Fatalf("%d bindings, want 3", len(cur))
	}
	out := merge(t, p, cur, req("c1", 2, 600, contact("sip:a@10.0.0.5", 0)), t0)
	if got := uris(out); len(got) != 2 || got[0] == "sip:a@10.0.0.5" || got[1] == "sip:a@10.0.0.5" {
		t.Errorf("after removing a: %q", got)
	}
	out = merge(t, p, cur, req("c1", 2, 0, contact("sip:nothere@10.0.0.9", NoExpires)), t0)
	if len(out) != 3 {
		t.Errorf("removing an unknown contact changed the set: %q", uris(out))
	}
	out = merge(t, p, cur, Request{AOR: aor, CallID: "c3", CSeq: 1, Wildcard: true, Expires: 0}, t0)
	if len(out) != 0 {
		t.Errorf("Contact: * left %q", uris(out))
	}
	for name, r := range map[string]Request{
		"no Expires":     {AOR: aor, CallID: "c3", CSeq: 1, Wildcard: true, Expires: NoExpires},
		"Expires 60":     {AOR: aor, CallID: "c3", CSeq: 1, Wildcard: true, Expires: 60},
		"other contacts": {AOR: aor, CallID: "c3", CSeq: 1, Wildcard: true, Expires: 0, Contacts: []Contact{contact("sip:a@x", 0)}},
	} {
		if _, err := p.Merge(cur, r, t0); !errors.Is(err, ErrInvalidWildcard) {
			t.Errorf("%s: %v, want 400 invalid wildcard", name, err)
		}
	}
}

// TestMergeAtomic: one contact too brief fails the request; the other contact of the
// same request is not applied (§10.3 step 7, last paragraph).
func TestMergeAtomic(t *testing.T) {
	p := Policy{}
	r := req("c1", 1, 600, contact("sip:a@10.0.0.5", NoExpires), contact("sip:b@10.0.0.6", 5))
	if out, err := p.Merge(nil, r, t0); !errors.Is(err, ErrIntervalTooBrief) || out != nil {
		t.Errorf("%+v %v", out, err)
	}
}

// TestMergeURIComparison: bindings are matched by RFC 3261 §19.1.4 URI equality.
func TestMergeURIComparison(t *testing.T) {
	p := Policy{}
	cur := merge(t, p, nil, req("c1", 1, 600, contact("sip:agent1@10.0.0.5:5060;transport=udp", NoExpires)), t0)
	for _, tc := range []struct {
		uri  string
		same bool
	}{
		{"SIP:agent1@10.0.0.5:5060;TRANSPORT=UDP", true},
		{"sip:agent1@10.0.0.5:5060;transport=udp;ob", true},
		{"sip:Agent1@10.0.0.5:5060;transport=udp", false},
		{"sip:agent1@10.0.0.5:5060;transport=tcp", false},
		{"sip:agent1@10.0.0.5;transport=udp", false},
		{"sip:agent1@10.0.0.5:5061;transport=udp", false},
	} {
		out := merge(t, p, cur, req("c1", 2, 600, contact(tc.uri, NoExpires)), t0)
		if same := len(out) == 1; same != tc.same {
			t.Errorf("%s: same binding %v, want %v", tc.uri, same, tc.same)
		}
	}
}

// TestMergeOrder: q first, then freshness.
func TestMergeOrder(t *testing.T) {
	p := Policy{}
	c := func(uri string, q float64) Contact { x := contact(uri, NoExpires); x.Q = q; return x }
	cur := merge(t, p, nil, req("c1", 1, 600, c("sip:low@x", 0.1), c("sip:old@x", 1)), t0)
	cur = merge(t, p, cur, req("c2", 1, 600, c("sip:new@x", 1), c("sip:mid@x", 0.5)), t0.Add(time.Second))
	want := []string{"sip:new@x", "sip:old@x", "sip:mid@x", "sip:low@x"}
	if got := uris(cur); len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("order %q, want %q", got, want)
	}
}

// TestMergeLimits: a query returns the live bindings, expired ones are gone, the
// contact limit refuses growth but not a refresh, a duplicate contact in one request
// takes its last value, a request without AOR or Call-ID is refused.
func TestMergeLimits(t *testing.T) {
	p := Policy{MaxContacts: 2}
	cur := merge(t, p, nil, req("c1", 1, 600, contact("sip:a@x", NoExpires), contact("sip:b@x", 60)), t0)
	if out := merge(t, p, cur, req("c1", 2, 600), t0.Add(30*time.Second)); len(out) != 2 {
		t.Errorf("query: %q", uris(out))
	}
	if out := merge(t, p, cur, req("c1", 2, 600), t0.Add(61*time.Second)); len(out) != 1 || out[0].URI != "sip:a@x" {
		t.Errorf("query after b expired: %q", uris(out))
	}
	if _, err := p.Merge(cur, req("c2", 1, 600, contact("sip:c@x", NoExpires)), t0); !errors.Is(err, ErrTooManyContacts) {
		t.Errorf("third contact: %v", err)
	}
	if _, err := (Policy{MaxContacts: 1}).Merge(cur, req("c1", 2, 600, contact("sip:a@x", NoExpires)), t0); err != nil {
		t.Errorf("refresh above a lowered limit: %v", err)
	}
	out := merge(t, p, nil, req("c1", 1, 600, contact("sip:a@x", 120), contact("sip:a@x", 300)), t0)
	if len(out) != 1 || out[0].Expires != t0.Add(300*time.Second) {
		t.Errorf("duplicate contact: %+v", out)
	}
	out = merge(t, p, cur, req("c1", 2, 600, contact("sip:a@x", 0), contact("sip:a@x", 300)), t0)
	if len(out) != 2 {
		t.Errorf("remove then re-add in one request: %q", uris(out))
	}
	if _, err := p.Merge(nil, Request{CallID: "c"}, t0); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("no AOR: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for name, p := range map[string]Policy{
		"min above max":      {MinExpires: time.Hour, MaxExpires: time.Minute},
		"default below min":  {MinExpires: time.Hour, DefaultExpires: time.Minute, MaxExpires: 2 * time.Hour},
		"fractional seconds": {MinExpires: 1500 * time.Millisecond},
	} {
		if p.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
