// Package tts turns prompt text into audio for the IVR. Backends render text at their
// own sample rate (Espeak runs the espeak-ng program); Cache sits in front of a backend
// and hands each call the prompt at the call's rate, from memory, from a directory of
// rendered WAV files, or freshly synthesized, so a repeated prompt costs no synthesis.
package tts
