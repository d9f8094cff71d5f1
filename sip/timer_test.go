package sip

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// TestNoAutomatic100Trying guards the invariant onInvite relies on: sipgo's 100
// Trying timer, which would read the INVITE while onInvite writes its To tag, never
// fires during a call's lifetime (hotline sends its own 100 Trying at once).
func TestNoAutomatic100Trying(t *testing.T) {
	if gosip.Timer_1xx < time.Hour {
		t.Fatalf("sipgo's Timer_1xx is %v; package init must disable the automatic 100 Trying", gosip.Timer_1xx)
	}
}
