// Package vad detects speech in a call's audio, frame by frame, for
// barge-in (stop the prompt when the caller talks) and end of speech (stop
// listening and hand the utterance to ASR).
//
// # Use
//
// One [Detector] per call leg and direction, fed every frame of the stream
// in order (10, 20 or 30 ms at 8, 16 or 48 kHz, the rates the media engine
// decodes to). [Detector.Process] returns [SpeechStart] once speech has
// lasted Config.MinSpeech and [SpeechEnd] once it has been absent for
// Config.MinSilence; [Detector.OnsetOffset] says how far back the speech
// began, so a caller keeping a short pre-roll buffer can give ASR the first
// syllable. Process does not allocate; the Detector runs no goroutines and
// reads no clock, so tests drive it with synthetic audio.
//
// # Method
//
// The detector is a statistical-model likelihood-ratio test over the
// short-time spectrum, of the family of the WebRTC VAD, with a noise model
// that needs no speech/non-speech decision to adapt:
//
//  1. Analysis. Every 10 ms (a hop) the last 32 ms of audio (256 samples at
//     8 kHz, 512 at 16 kHz) is Hann-windowed and transformed with a real FFT;
//     the power of the bins between 80 Hz and 4 kHz (31.25 Hz apart, fine
//     enough to resolve voice harmonics) is kept. 48 kHz input is first
//     decimated to 16 kHz by a 23-tap FIR (callers need not resample). The
//     hop, not the frame, is the unit of every decision, so 10, 20 and
//     30 ms frames behave alike.
//
//  2. Noise. Each bin's power is smoothed and its minimum over a sliding
//     0.96 s window, corrected for the minimum's bias, is taken as the noise
//     power (minimum statistics: R. Martin, "Noise power spectral density
//     estimation based on optimal smoothing and minimum statistics", IEEE
//     Trans. Speech and Audio Processing 9(5), 2001). Speech raises a bin
//     only part of the time, so the minimum stays at the noise even during
//     speech, and stationary noise of any level and colour (hiss, hum,
//     fans, line noise) is learnt within about a second, whether it rises
//     or falls. The first 100 ms are averaged to seed the model; digital
//     silence and anything below -70 dBFS is treated as a -70 dBFS floor.
//
//  3. Score. Each bin is modelled as Gaussian noise of the tracked power,
//     plus, if speech is present, Gaussian speech with an a priori SNR
//     estimated decision-directed; the log likelihood ratio of speech over
//     noise is averaged over the bins (J. Sohn, N. S. Kim and W. Sung, "A
//     statistical model-based voice activity detection", IEEE Signal
//     Processing Letters 6(1), 1999; Y. Ephraim and D. Malah, IEEE Trans.
//     ASSP 32(6), 1984). Averaging over 125 bins makes the score of
//     stationary noise very steady (mean about 0.04, peaks near 0.3) while
//     the harmonics of a vowel push it to 1-100.
//
//  4. Decision. A hop is speech when the score exceeds the mode's "on"
//     threshold, or its lower "off" threshold if the previous hop was
//     speech. Config.Mode (0-3) raises both, like the WebRTC VAD's
//     aggressiveness: on stationary noise all modes perform almost alike,
//     because vowels score far above any threshold; higher modes ignore
//     more of the weaker non-stationary sounds (clicks, distant voices) at
//     the cost of clipping the softest edges of words.
//
//  5. Hangover. SpeechStart needs MinSpeech of consecutive speech hops
//     (default 60 ms: clicks and line transients are shorter; each hop sees
//     32 ms of audio, so sounds down to about 35 ms count) and
//     SpeechEnd MinSilence of consecutive non-speech hops (default 600 ms:
//     longer than the pauses inside a phrase, short enough for a menu
//     answer to feel prompt; raise it for open questions).
//
//  6. Onset. The onset reported is the first speech hop of the run that
//     led to SpeechStart, not the decision time. Unvoiced starts ("s",
//     "sh", "h") are too weak in noise to score as speech but may precede
//     the vowel by 100 ms or more, so a CUSUM (E. S. Page, "Continuous
//     inspection schemes", Biometrika 41, 1954) of the 2-4 kHz band SNR
//     accumulates their weak evidence, and the onset is moved back to where
//     the CUSUM left zero, by at most 200 ms.
//
// # What it hears as speech
//
// Anything that is new, loud enough against the learnt noise and lasts
// MinSpeech: DTMF and other signalling tones included (barge-in by DTMF is
// handled by the digit detector; a continuous tone such as a dial tone is
// learnt as noise within a second and ends in SpeechEnd). A sudden rise in
// background noise (a caller stepping into a street) also reads as speech
// until the noise model catches up, at most about 1.1 s later. Music and
// babble are not stationary and will often be called speech.
//
// # Measured
//
// TestOnsetAccuracy (run with -v for the table): 24 espeak-ng utterances
// per row (English and Mandarin, 7 voices, active levels -18, -26 and
// -34 dBFS, after 1-2 s of noise), white or pink noise mixed at an exact
// SNR against the speech's active level, at 8, 16 and 48 kHz and through
// G.711 μ-law. At 10 dB SNR every onset of 192 lies within 100 ms of the
// clean speech's energy onset (mean error +13 ms, worst +84 ms: an "s"
// that white noise buries completely), and SpeechEnd comes 0-35 ms after
// MinSilence past the end of speech, or earlier when a faint final
// consonant is lost in the noise. SpeechStart itself, the barge-in
// decision, comes on average 67 ms after the true onset in clean speech and
// 86-102 ms at 10 dB SNR (worst 180 ms, when the onset is a buried
// fricative). TestNoFalseOnsetOnNoise: no SpeechStart in
// 24 minutes of white, pink and 50/60 Hz hum at -60 to -20 dBFS.
// BenchmarkProcess: about 5 µs of CPU per 20 ms frame at 8 kHz, 8 µs at
// 16 kHz and 12 µs at 48 kHz.
package vad
