package store_test

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

func TestParseSearchFilter(t *testing.T) {
	cursor := store.Cursor{At: t0, ID: "c-1"}.String()
	ok := []struct {
		query string
		want  store.SearchFilter
	}{
		{"", store.SearchFilter{}},
		{"from=2026-05-22&to=2026-05-23T08:00:00%2B08:00", store.SearchFilter{
			From: time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 23, 0, 0, 0, 0, time.UTC)}},
		{"from=2026-05-22T09:30:00.1234567Z", store.SearchFilter{From: t0.Add(123456 * time.Microsecond)}},
		{"caller=%2B86138*&called=10086&disposition=abandoned&queue=billing&agent=alice&flow=telecom&state=ended&limit=20&cursor=" + cursor,
			store.SearchFilter{Caller: "+86138*", Called: "10086", Disposition: store.DispositionAbandoned, Queue: "billing",
				Agent: "alice", Flow: "telecom", State: store.StateEnded, Limit: 20, Cursor: cursor}},
	}
	for _, tc := range ok {
		q, _ := url.ParseQuery(tc.query)
		got, err := store.ParseSearchFilter(q)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.query, got, tc.want)
		}
		back, err := store.ParseSearchFilter(got.Values())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%q: Values does not read back: %+v, %v", tc.query, back, err)
		}
	}
	bad := []struct{ query, want string }{
		{"callr=1", `unknown parameter "callr"`},
		{"caller=1&caller=2", "given 2 times"},
		{"from=yesterday", "neither RFC 3339 nor YYYY-MM-DD"},
		{"from=0001-01-01", "out of range"},
		{"from=2026-05-23&to=2026-05-22", "before from"},
		{"limit=0", "limit"},
		{"limit=5000", "limit"},
		{"limit=ten", "limit"},
		{"cursor=xyz", "cursor"},
		{"state=gone", "state"},
		{"caller=*1*", "'*' may only end"},
		{"callr=1&limit=0&state=x", "unknown parameter"}, // every problem at once
	}
	for _, tc := range bad {
		q, _ := url.ParseQuery(tc.query)
		_, err := store.ParseSearchFilter(q)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want ErrInvalid mentioning %q", tc.query, err, tc.want)
		}
	}
	q, _ := url.ParseQuery("callr=1&limit=0&state=x")
	if _, err := store.ParseSearchFilter(q); strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("want both parse problems reported at once, got: %v", err)
	}
}

func TestCursor(t *testing.T) {
	c := store.Cursor{At: t0.Add(123 * time.Microsecond), ID: "call|with|pipes"}
	got, err := store.ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, s := range []string{"", "!!", "MTIz", "LTF8eA", "MDAxfHg"} { // "123", "-1|x", "001|x"
		if _, err := store.ParseCursor(s); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseCursor(%q): %v, want ErrInvalid", s, err)
		}
	}
}

// FuzzSearchFilter: no query string panics the parser, and a filter it accepts
// renders (Values) to parameters that parse back to the same filter.
func FuzzSearchFilter(f *testing.F) {
	for _, s := range []string{
		"", "from=2026-05-22&to=2026-05-23", "caller=%2B86138*&limit=20",
		"cursor=" + store.Cursor{At: t0, ID: "c-1"}.String(), "state=active&agent=a&queue=q&flow=f&disposition=x",
		"from=2026-05-22T09:30:00.999999999%2B14:00", "caller=*", "limit=1000&called=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := store.ParseSearchFilter(q)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("%q: error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("%q: parsed filter does not validate: %v", raw, err)
		}
		back, err := store.ParseSearchFilter(got.Values())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("%q: %+v renders to %v, which reads back as %+v, %v", raw, got, got.Values(), back, err)
		}
	})
}

// FuzzCursor: no string panics ParseCursor, and a cursor it accepts encodes to
// one that parses to the same position.
func FuzzCursor(f *testing.F) {
	f.Add(store.Cursor{At: t0, ID: "c-1"}.String())
	f.Add("MTIzfGE")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := store.ParseCursor(s)
		if err != nil {
			return
		}
		back, err := store.ParseCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("%q: %+v re-encodes to %q, which parses as %+v, %v", s, c, c.String(), back, err)
		}
	})
}
