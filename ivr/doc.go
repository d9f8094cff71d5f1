// Package ivr runs call flows. A Runtime walks a validated flows.Flow for one call at a
// time per Run: it answers (or starts early media), speaks prompts through a
// Synthesizer, plays WAV files, collects DTMF with timeouts, retries and a type-ahead
// buffer so no digit is lost between nodes, follows each node's typed outcomes and
// hangs up with a disposition that call records and the containment figure use.
//
// ivr defines the interfaces it consumes (Channel for the call leg, Synthesizer for
// prompts); the sip and tts packages implement them and cmd/hotline wires them.
//
// # Digits
//
// Every digit the caller presses goes to a type-ahead buffer that the next gather reads
// first. A digit during a barge-in prompt stops it (the Play context is cancelled) and
// a barge-in prompt is not played at all while digits are waiting: a caller who knows
// the menu types through it. Without barge-in the prompt plays to its end and the digit
// still waits for the gather. Between a gather's attempts the buffer is kept (a caller
// correcting a wrong key); when every attempt has failed it is emptied, so keys typed
// into a menu that rejected them neither cut the failure path's prompts short nor
// answer the next menu. A finish key pressed right after a full input (1234# into a
// 4-digit gather) belongs to that input and is dropped; a finish key alone is input
// with too few digits, a no-match.
//
// # Ending
//
// A hangup node ends the call with its disposition. When the caller hangs up (the
// context ends) Run returns at once with disposition abandoned and does not hang up
// itself. When the flow fails (an error outcome with no route, the step limit, a node
// whose error route leads back to itself) Run hangs up with disposition error.
package ivr
