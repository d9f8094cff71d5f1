// Package asr is hotline's streaming speech recognizer: one Session per
// utterance, fed by the call's media goroutine and answered by a pluggable
// backend chosen by name per flow or node.
//
// # Shape
//
// A Backend turns one utterance's audio into text; everything every
// backend needs is done once here, in the Session:
//
//   - Rate. A backend states the sample rate it wants (SampleRate); the
//     media path writes at its own rate through NewSink, which wraps the
//     session with media/audio's polyphase Resampler when they differ.
//   - End of speech. The session runs media/vad on every 20 ms frame.
//     Before the onset it only keeps a 500 ms pre-roll, so silence costs
//     the backend nothing; at the onset the pre-roll (from 300 ms before
//     the onset the VAD reports) is sent, then every frame until the VAD
//     reports MinSilence of silence (Request.MinSilence, per session),
//     NoInputTimeout passes without speech, or MaxUtterance passes after
//     the onset (Result.Truncated). Timeouts count the audio written (the
//     media clock); the wall clock is a backstop for audio that stops.
//   - The media path never waits. Write runs the VAD and copies the frame
//     into a bounded queue (Request.Queue, 2 s by default) that the
//     session's recognizer goroutine drains into the backend. A full queue
//     drops the frame and counts it in hotline_asr_dropped_frames_total.
//     Write does not allocate.
//   - Results. Partial results (Request.Partials) and then exactly one
//     final Result arrive on Results(); Wait returns the final one. A
//     final result has an Outcome that maps onto a node's outcomes:
//     final, no_input, no_match (nothing recognised, or confidence under
//     Request.MinConfidence), error (backend failure, or no result within
//     ResultTimeout), cancelled (context ended or Close).
//   - Lifetime. The session ends with its context; Close releases the
//     backend (decoder, socket) and waits for the recognizer goroutine.
//
// # Backends
//
// Backends are registered by name in a Registry value that cmd/hotline
// builds (NewRegistry, Register); a Request names its Backend and
// optionally a Fallback, which a Fallback wrapper consults when the
// primary fails or exceeds Request.LatencyBudget from the end of speech.
// Two ship with hotline: asr/sphinx (embedded CMU PocketSphinx through
// cgo, grammar and open modes, pooled decoders) and asr/vosk (the
// Vosk/Kaldi WebSocket streaming protocol, for vosk-server and compatible
// servers).
//
// # Adding a vendor backend
//
// A cloud recognizer (Google Speech-to-Text, Azure Speech, Deepgram, ...)
// is added by implementing two small interfaces in a package of its own,
// say asr/deepgram, and registering it from cmd/hotline:
//
//	type Backend interface {
//		SampleRate() int // e.g. 16000, or 8000 to send telephone audio as is
//		Open(ctx context.Context, req asr.Request, partial func(asr.Result)) (asr.Stream, error)
//	}
//	type Stream interface {
//		Write(ctx context.Context, pcm []int16) error       // next audio, 16-bit mono
//		Finish(ctx context.Context) (asr.Result, error)     // end of audio: final text
//		Close() error                                       // release everything
//	}
//
// Open connects (gRPC stream or WebSocket) and sends the vendor's
// configuration: req.Language, req.Phrases or req.Hints as the vendor's
// phrase hints or boost list, word timings on. Write sends audio and
// returns; a goroutine owned by the stream reads the vendor's interim
// results and calls partial (it must not block) and keeps the last final
// transcript. Finish sends the vendor's end-of-audio message and waits for
// the final transcript, honouring ctx (the session's ResultTimeout). Close
// closes the connection and waits for the reader goroutine. Map the
// vendor's confidence to 0..1 and document it. The session does
// everything else: VAD, timeouts, the queue, metrics and fallback. Leave
// the vendor's own endpointing off (or long) so hotline's VAD decides
// when the caller has finished, and return ErrUnsupported (wrapped) for
// what the vendor cannot do, such as a raw Grammar. Implement Validator
// if the request can be checked up front. Credentials come from the
// backend's constructor options, which cmd/hotline reads from its
// configuration. The fake WebSocket server in asr/vosk's tests shows how
// to test a remote backend against hangs, early closes and garbage.
//
// The package imports media/audio, media/vad and Prometheus only: the
// flow runtime (ivr) defines the interface it consumes and cmd/hotline
// adapts a Registry to it.
package asr
