// Package sphinx is hotline's embedded speech recognizer: CMU
// PocketSphinx through cgo, so a menu can be answered by voice with no
// service to run. It needs the Debian packages libpocketsphinx-dev (the
// 5prealpha library with the old ps_*/cmd_ln API; libpocketsphinx3 at run
// time) and pocketsphinx-en-us (the US English model, DefaultModelDir).
// It implements asr.Backend and asr.Validator; register it in an
// asr.Registry (cmd/hotline registers it as "sphinx").
//
// # Modes
//
// Grammar mode (asr.ModeGrammar, what asr.ModeAuto picks when a node lists
// phrases) compiles a JSGF grammar accepting exactly one of the phrases,
// normalised (Normalize: lower case, punctuation removed, numbers spelled
// out) and checked against the pronunciation dictionary, so a flow with a
// word the dictionary lacks fails when it is loaded (UnknownWordsError
// lists the words). A raw JSGF grammar (asr.Request.Grammar) is accepted
// too. Open mode decodes with the model's trigram language model
// (en-us.lm.bin).
//
// Grammar mode is the IVR default because it is the one that works on
// telephone audio. Measured with BenchmarkRecognize (8 menu phrases, each
// in 4 espeak-ng voices and speeds, through G.711 μ-law at 8 kHz and
// upsampled by the session; one decoder; 2 vCPUs, /proc/cpuinfo "AMD
// EPYC", load average 6-8 from other builds, so the wall-clock figures
// are pessimistic and the CPU figure is the stable one):
//
//	mode     right         WER    CPU/audio  wall/audio  median end of speech → result
//	grammar  29/32 (91 %)  12 %   0.08       0.14-0.22   245-335 ms
//	open      0/32 (0 %)   108 %  0.31-0.34  0.50-0.79   0.9-1.4 s
//
// In grammar mode the three wrong transcripts had confidence 0: with a
// min_confidence of 0.05 none is taken (they become no_match, a
// re-prompt) and 26 of 32 right ones are.
//
// The open language model turns espeak-ng's telephone speech into
// unrelated words ("check my balance" → "his bad luck"); real callers on
// wideband audio fare better, but a flow should list phrases wherever it
// can.
//
// # Decoding
//
// Audio is buffered and decoded in one pass when the session's VAD ends
// the utterance, with batch cepstral mean normalisation as the model was
// trained, so a decoder is held only for the tens of milliseconds of the
// decode (Request.Partials also decodes live for partial results, which
// holds a decoder for the whole utterance). Spectral noise removal is off
// (-remove_noise no: on telephone audio it cost 19 of 36 menu phrases),
// and about one bit of triangular dither is added so digital silence does
// not drag the normalisation (see dither).
//
// Decoders take hundreds of milliseconds and tens of megabytes to load, so
// a pool (WithPoolSize, WithPreload) loads them once and hands them to
// sessions; a session waits for a free one with its context. Each decoder
// keeps up to 16 compiled grammars (least recently used replaced), so a
// menu's grammar is compiled once per decoder, not once per caller; the
// grammars are compiled with code that frees the parsed JSGF, which the
// library's own ps_set_jsgf_string leaks (8 kB a call).
//
// # Confidence
//
// Open mode reports the posterior probability of the best path (and each
// word's posterior). Grammar mode decodes the utterance a second time
// with an unconstrained phone loop and compares: the confidence is the
// product of how much of the speech the loop found is covered by the
// grammar's words (not absorbed by silence or noise fillers; 0 at or below
// 40 %, 1 from 70 %) and a logistic of the per-frame acoustic
// log-likelihood ratio between the grammar's words and the loop over the
// same frames. Silence and noise score low and a phrase said clearly
// scores high (TestNoBogusPhrase); the benchmark reports the mean
// confidence of right and wrong transcripts (conf-right, conf-wrong) for
// choosing a min_confidence.
//
// Reproduce the figures with
//
//	go test -run '^$' -bench Recognize -benchtime 1x ./asr/sphinx
package sphinx
