// Package ivr runs call flows. A Runtime walks a validated flows.Flow for one call at a
// time per Run: it answers (or starts early media), speaks prompts through a
// Synthesizer, plays WAV files, collects DTMF with timeouts, retries and a type-ahead
// buffer so no digit is lost between nodes, follows each node's typed outcomes and
// hangs up with a disposition that call records and the containment figure use.
//
// ivr defines the interfaces it consumes (Channel for the call leg, Synthesizer for
// prompts); the sip and tts packages implement them and cmd/hotline wires them.
package ivr
