package flows_test

import (
	"errors"
	"fmt"

	"github.com/hotline-ivr/hotline/flows"
)

// Load a flow and walk it from Start the way the runtime does, for a caller who
// presses 1 at the menu and hears every prompt to the end.
func ExampleLoad() {
	env, err := flows.LoadEnv("env.yaml") // binds the queues, endpoints and calendars flows name
	if err != nil {
		fmt.Println(err)
		return
	}
	flow, err := flows.Load("hotline.yaml", flows.WithEnv(env))
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

// ValidateFiles checks flow files (and an env.yaml among them) together, the way
// `hotline flow validate FILE…` does, and reports every problem at once.
func ExampleValidateFiles() {
	errs := flows.ValidateFiles([]string{"telecom.yaml", "env.yaml", "testdata/invalid/env_names.yaml"}, nil)
	for _, e := range errs[:3] {
		fmt.Println(e)
	}
	fmt.Println(errs.Summary())
	// Output:
	// testdata/invalid/env_names.yaml:11:12: node "b": queue.name: the environment env.yaml has no queue named "cares" (did you mean care?)
	// testdata/invalid/env_names.yaml:14:12: node "c": hours.calendar: the environment env.yaml has no calendar named "mian" (did you mean main?)
	// testdata/invalid/env_names.yaml:17:40: node "d": transfer.trunk: the environment env.yaml has no trunk named "carier" (did you mean carrier?)
	// 5 errors in 1 file
}

// A flow's prompts are templates: the runtime renders them with the call's
// variables, in the call's language, and evaluates the flow's expressions.
func ExampleTemplate_Render() {
	env, err := flows.LoadEnv("env.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	flow, err := flows.Load("telecom.yaml", flows.WithEnv(env))
	if err != nil {
		fmt.Println(err)
		return
	}
	vars := flow.NewVars()
	vars["caller"] = "+33612345678"
	vars["language"] = "zh"
	vars["account"] = "123456"

	say := flow.Nodes["unknown_account"].Action.(*flows.Say)
	prompt := say.Msg.For(vars["language"].(string))
	ssml, _ := prompt.Text.Render(vars)
	text, _ := prompt.Text.Text(vars)
	fmt.Println(say.Voices[prompt.Lang])
	fmt.Println(ssml)
	fmt.Println(text)

	wait := flow.Nodes["wait_check"].Action.(*flows.Switch)
	vars["queue_wait"] = func(queue string) int { return 240 } // the runtime's function
	long, _ := flow.Eval(wait.Cases[0].When, vars)
	fmt.Println("offer a callback:", long)
	// Output:
	// cmn
	// 对不起，找不到账号<say-as interpret-as="digits">123456</say-as>。
	// 对不起，找不到账号123456。
	// offer a callback: true
}
