// Package tts turns prompt text into audio for the IVR. Backends render text at their
// own sample rate (Espeak runs the espeak-ng program); Cache sits in front of a backend
// and hands each call the prompt at the call's rate, from memory, from a directory of
// rendered WAV files, or freshly synthesized, so a repeated prompt costs no synthesis.
//
// Cache satisfies ivr.Synthesizer without importing ivr: interfaces belong to their
// consumer. A request whose caller hangs up returns at once; the rendering it started
// goes on for the other calls waiting for the same prompt, and stops (killing the
// espeak-ng process) when none is left. hotline_tts_requests_total counts every
// request once, by where its audio came from (memory, disk, synthesized) or why it has
// none (error, canceled).
package tts
