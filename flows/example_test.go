package flows_test

import (
	"errors"
	"fmt"

	"github.com/hotline-ivr/hotline/flows"
)

// Load a flow and walk it from Start the way the runtime does, for a caller who
// presses 1 at the menu and hears every prompt to the end.
func ExampleLoad() {
	flow, err := flows.Load("hotline.yaml")
	if err != nil {
		fmt.Println(err) // every problem, one "file:line:col: message" per line
		return
	}
	for name := flow.Start; name != ""; {
		node := flow.Nodes[name]
		switch a := node.Action.(type) {
		case *flows.Say:
			fmt.Printf("%-9s say %.40q\n", name, a.Text)
			name = node.Routes[flows.OutcomeOK]
		case *flows.Gather:
			fmt.Printf("%-9s gather up to %d digit(s) into %q; caller presses 1\n", name, a.MaxDigits, a.Var)
			name = node.Branch["1"]
		case *flows.Goto:
			name = a.Target
		case *flows.Hangup:
			fmt.Printf("%-9s hang up, %s\n", name, a.Disposition)
			name = ""
		}
	}
	// Output:
	// welcome   say "Thank you for calling Example Telecom."
	// main_menu gather up to 1 digit(s) into "digits"; caller presses 1
	// billing   say "You have reached the billing department."
	// goodbye   say "Thank you for calling Example Telecom. G"
	// end       hang up, resolved
}

// Parse reports every problem of a flow at once, each with its position.
func ExampleParse() {
	src := `name: demo
start: welcome
nodes:
  welcome:
    say: Hello.
    nxt: menu
  menu:
    gather: {max_digits: 2, timeout: 5 sec}
    branch: {"1": billing, "123": welcome}
`
	_, err := flows.Parse(nil, "demo.yaml", []byte(src))
	var errs flows.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Printf("line %d: %s\n", e.Pos.Line, e.Msg)
		}
	}
	// Output:
	// line 4: node "welcome": outcome ok is not routed (add next)
	// line 4: node "welcome": outcome error is not routed (add on.error or defaults.error)
	// line 6: node "welcome": unknown field "nxt" in node (did you mean next?)
	// line 7: node "menu": outcome no_input is not routed (add on.no_input or defaults.no_input)
	// line 7: node "menu": outcome no_match is not routed (add on.no_match or defaults.no_match)
	// line 7: node "menu": outcome error is not routed (add on.error or defaults.error)
	// line 8: node "menu": gather.timeout must be a duration such as 5s, 500ms or 1m30s, or a number of seconds, got "5 sec"
	// line 9: node "menu": branch "1": no node named "billing"
	// line 9: node "menu": branch key "123" is longer than max_digits (2)
}
