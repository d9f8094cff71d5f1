// Package tts turns prompt text into audio for the IVR. Backends render text at their
// own sample rate (Espeak runs the espeak-ng program); Cache sits in front of a backend
// and hands each call the prompt at the call's rate, from memory, from a directory of
// rendered WAV files, or freshly synthesized, so a repeated prompt costs no synthesis.
//
// Cache satisfies ivr.Synthesizer and ivr.SSMLSynthesizer without importing ivr:
// interfaces belong to their consumer. A request whose caller hangs up returns at
// once; the rendering it started goes on for the other calls waiting for the same
// prompt, and stops (killing the espeak-ng process) when none is left.
// hotline_tts_requests_total counts every request once, by where its audio came from
// (memory, disk, synthesized) or why it has none (error, canceled).
//
// # SSML
//
// Text that starts with "<speak" (IsSSML) is an SSML document in the subset flow
// prompts use (package flows): break (time or strength), say-as (digits, characters,
// telephone, cardinal, ordinal, date, time, currency), lang and voice, prosody (rate,
// volume), p and s. Espeak speaks it: say-as values are expanded into words here, in
// English or Mandarin (the language of the enclosing xml:lang, else of the voice),
// since espeak-ng reads "123" as a number and knows no Chinese number forms. Digits
// are read one at a time with a 400 ms pause between them, telephone numbers digit by
// digit in their groups (Mandarin: 一二三, and 幺 for 1 in phone numbers). The
// document is cut into one segment per voice (a <lang> without a <voice> speaks with
// VoiceForLanguage); espeak-ng renders each with -m, breaks and prosody included, and
// the segments are joined. A break between two segments, or at the start or end, is exact silence in
// place of the silence espeak-ng pads its output with. </s> and </p> leave a 300 ms
// and 600 ms pause. A Backend that speaks SSML implements SSMLBackend; Cache.SSML
// reports it, so the IVR sends plain text to backends that do not.
package tts
