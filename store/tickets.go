package store

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// TicketStatus is where a work ticket stands. The zero value is TicketUnknown.
type TicketStatus string

// The ticket statuses. Purge only deletes tickets that are resolved or closed.
const (
	TicketUnknown    TicketStatus = ""
	TicketOpen       TicketStatus = "open"        // created, nobody has taken it (the default)
	TicketInProgress TicketStatus = "in_progress" // someone works on it
	TicketResolved   TicketStatus = "resolved"    // the problem is fixed
	TicketClosed     TicketStatus = "closed"      // done, with or without a fix
)

// Done reports whether the ticket needs no more work (resolved or closed).
func (s TicketStatus) Done() bool { return s == TicketResolved || s == TicketClosed }

func (s TicketStatus) valid() bool {
	switch s {
	case TicketOpen, TicketInProgress, TicketResolved, TicketClosed:
		return true
	}
	return false
}

// Ticket is a work ticket, created by a flow's ticket node (ivr.Ticket holds the
// same fields) or through the API.
type Ticket struct {
	ID       string // NewTicketID; unique
	CallID   string // the call that created it, "" when made through the API
	Category string
	Priority string // low, normal, high or urgent (flows.Ticket*)
	Status   TicketStatus
	Caller   string
	Called   string
	Flow     string
	Language string
	Summary  string
	// Fields is the collected data as a JSON object (nil for none): JSON so the
	// ticket handed to a Writer is a snapshot.
	Fields     json.RawMessage
	Transcript []string // what the caller said, one answer a line
	Recordings []string // the call's recordings when the ticket was made
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TicketFilter selects tickets, newest first: each non-empty field must match and
// From <= CreatedAt < To (a zero bound is open).
type TicketFilter struct {
	Status   TicketStatus
	Category string
	Caller   string
	CallID   string
	From, To time.Time
	Limit    int    // 0: DefaultLimit; at most MaxLimit
	Cursor   string // TicketPage.Next of the previous page
}

// TicketPage is one page of tickets, newest first. Next is the cursor of the next
// page, "" after the last.
type TicketPage struct {
	Tickets []Ticket
	Next    string
}

// crockford is Crockford's base 32: no I, L, O or U, so an id read over the phone
// or copied by hand is not misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewTicketID returns a new ticket id such as "TK-260522-7K3M9QX2AB": the UTC date
// (for people sorting and reading them) and 50 random bits, so ids made on several
// engine nodes without asking the database never collide in practice (at ten
// thousand tickets a day, a collision is a 1 in 20 million chance a day). The id exists
// before the ticket is written, so a flow can tell it to the caller at once while
// the Writer stores the ticket in the background.
func NewTicketID(now time.Time) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: ticket id: %w", err)
	}
	id := make([]byte, 0, 20)
	id = now.UTC().AppendFormat(append(id, "TK-"...), "060102")
	id = append(id, '-')
	for _, c := range b {
		id = append(id, crockford[c&31])
	}
	return string(id), nil
}
