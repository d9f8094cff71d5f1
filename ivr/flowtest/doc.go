// Package flowtest runs call flows without SIP or audio, for the people who write
// them: `hotline flow simulate` (a call in the terminal), `hotline flow test`
// (conversation tests in YAML, for CI) and the mock billing service of the sample
// flows (`hotline flow mock-billing`). Every call runs on package ivr's real
// runtime, so what a flow does here is what it does on the phone; only the call
// leg and the services around it are simulated.
//
// # Simulated calls
//
// A Call is one call of a flow. Its leg speaks text: the Synthesizer hands the leg
// a token for each prompt's text (markup removed), keys are bytes, and speech is a
// transcript the driver types, understood by package nlu exactly as the engine
// understands a caller (NLU). Time is virtual (ivr.WithTimers): it moves only when
// the driver lets it, so a 5 s timeout costs nothing and runs out the same way on
// every machine. The runtime reports each node it runs (ivr.WithObserver), which
// gives the path and the variables each node changed.
//
// The call stops for its driver at every moment a caller could act, an Event:
// while a prompt plays (keys pressed then barge in, or wait as type-ahead), while
// the call waits for the caller (keys, speech, a voicemail), in a queue and in a
// transfer (the driver says how they turn out), and at the end. The simulated
// services do what the real ones would before that: the ACD announces the
// position and wait when the queue node asks, offers the callback (key 1), says
// the hold prompt once; tickets are numbered T-1, T-2…, recordings … in
// each call; a voicemail hears the driver's words (as speech-like audio, so the
// runtime's speech detector takes them for a message) and ends on the finish key
// or on silence. Queue figures (queue_wait and the others) are set per queue.
//
// # Test files
//
// A test file names the flow it tests and lists cases; each case is one call, a
// list of steps. Paths are relative to the test file.
//
//	flow: ../telecom.yaml            # required
//	env: ../env.yaml                 # default: env.yaml beside the flow
//	caller: "+15551230000"           # the call's identity (these are the defaults)
//	called: "100"
//	time: 2026-06-02T10:00:00Z       # the clock at the start (RFC 3339); default DefaultStart
//	language: en                     # the call's language at the start; default the flow's
//	queues:                          # what queue_size, queue_wait and agents_available report
//	  care: {waiting: 12, wait: 5m, agents: 0}
//	http_mocks:                      # answers to http nodes, by environment endpoint (or base URL)
//	  billing:
//	    "GET /accounts/12345678": {status: 200, body: {balance: 7.25, currency: GBP}}
//	    "GET /accounts/*": {status: 503}          # a trailing * matches the rest of the path
//	    "POST /events/call-ended": {timeout: true} # or error: "connection refused"
//	shared:                          # anything: a place for YAML anchors of steps
//	  english: &english
//	    - expect_prompt: For English, press 1.
//	    - press: "1"
//	cases:
//	  - name: balance in English     # required, unique in the file
//	    time: 2026-06-07T10:00:00+02:00   # caller, called, time, language, queues and
//	    steps:                            # http_mocks may be set per case too
//	      - *english                      # a list in a list is read in place
//	      - press: "1"
//	      - press: "12345678#"
//	      - expect_prompt: /You entered 1234\d+/
//	      - ...
//
// A request no mock answers goes to the mock billing service (Billing) in process:
// tests never use the network. A mock answers with status (default 200), body
// (JSON; text when a string) and headers, or fails: timeout: true is the http
// node's timeout outcome, error: its error outcome.
//
// Actions, what the caller (or the ACD, or the far end) does:
//
//   - press: "2" presses keys, 0-9, * and # ("12345678#" at once).
//   - say: I want a refund speaks: the transcript of a speech gather, menu, intent
//     or survey, or words left in a voicemail.
//   - wait: 6s lets time pass without input; a wait that runs out on the way (a
//     gather's timeout) has its effect, and the rest of the time passes after it.
//   - timeout lets the wait the call is in run out now, however long it is.
//   - hangup hangs up: the flow stops and its on_hangup section runs.
//   - queue: completed says how the queue the call reaches turns out: completed
//     (an agent took the call, which comes back to the flow), timeout, full, closed
//     or callback. Without one a queue completes.
//   - transfer: busy says how the far end of a transfer answers: ok, busy,
//     no_answer or failed. Without one a transfer succeeds.
//
// press and say act when the call next waits for the caller; right after an
// expect_prompt that matched the prompt still playing, they act during that prompt,
// as a caller who knows the menu does: the prompt stops (barge-in) and the keys
// wait for the next gather (type-ahead). A say when the call listens for keys only
// fails the case.
//
// Expectations look at what happened since the previous action and pass as soon as
// it satisfies them; when the call comes to wait for the caller, a queue, a
// transfer or its end without that, the case fails there:
//
//   - expect_prompt: text, or /regexp/ (/…/i for any case): a prompt spoken since
//     the previous action (or the previous expect_prompt) holds the text, in any
//     case and spacing. Prompts are compared as the caller hears them: {{ }}
//     rendered, markup removed.
//   - expect_node: main_menu: the call went through that node ("child:node" for a
//     subflow's).
//   - expect_var: {balance: 42.5, vip: false, intent: complaint}: variables hold
//     these values now (at the end: their final values). Numbers and booleans
//     compare by value, text exactly; "/regexp/" and comparisons ("< -0.4",
//     ">= 3", "!= 0") work too.
//   - expect_queue: complaints, or {name: complaints, priority: 9, skills:
//     {complaints: 3}}: the last queue the call entered.
//   - expect_transfer: "+15550100", or {to, mode, trunk}: the last transfer.
//   - expect_ticket: outage, or {category, priority, summary: /text/, fields:
//     {postcode: "75001"}}: the last ticket created.
//   - expect_disposition: resolved: the call ended, with that disposition.
//   - expect_path: [welcome, ..., main_menu, billing]: the nodes so far (after the
//     end, with the on_hangup section's), where ... stands for any nodes.
//
// When its steps are done and the call still goes on, the caller hangs up. Node,
// variable, queue and endpoint names are checked against the flow before anything
// runs; every problem of a test file is reported as file:line:col: message, as
// the flow loader reports flows (flows.Errors).
//
// # Running them
//
// RunFile runs one test file and returns a FileResult per file; WriteText and
// WriteJSON report them. Each failure gives the step, what it expected, what
// happened instead, the transcript up to there and the path. Simulate runs one
// call with a person (or a program, through pipes) as the caller.
package flowtest
