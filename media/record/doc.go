// Package record writes per-call recordings as 16-bit PCM WAV files: stereo
// with the caller on the left channel and the other side (prompts, agent)
// on the right, or mono with both summed (WithMono), at the call's rate
// (8, 16 or 48 kHz).
//
// # Feeding
//
// A Recorder satisfies the media session's StereoSink: the media clock
// calls WriteStereo every 20 ms with one frame of each side. WriteStereo
// only encodes the frame into a preallocated ring and queues it; a writer
// goroutine owned by the Recorder drains the queue into a bufio.Writer about
// every 100 ms of audio. The one lock WriteStereo takes is never held
// across I/O, so the media clock that many calls share never waits for the
// disk, and a frame costs no allocation.
//
// If the disk falls behind and the queue (WithQueue, default 2 s) is full,
// the frame is dropped and counted (Info.Dropped), and the writer puts the
// same number of samples of silence in its place. The file therefore always
// has exactly the call's length: audio after a drop stays aligned with the
// call's timeline, the CDR timestamps and the other channel.
//
// # Crash safety
//
// The file starts with a valid header describing zero samples. Every
// header interval of recorded audio (WithHeaderInterval, default 2 s) the
// writer flushes its buffer and then rewrites the header's RIFF and data
// sizes at offset 0 for the audio that reached the file. A process killed
// at any moment (SIGKILL, OOM killer, panic elsewhere) therefore leaves a
// file that every player reads, whose header covers at least the audio
// flushed before the last rewrite: it loses at most one interval plus the
// write buffer. The data already in the kernel's page cache survives the
// process, so no fsync is needed for that. Close drains the queue and
// writes the exact final header.
//
// fsync is a separate choice (WithSync): SyncClose, the default, syncs once
// in Close so a recording reported to the call record is durable;
// SyncCheckpoint also syncs before every header rewrite (and the directory
// after Create) so a power loss keeps everything up to the previous
// checkpoint; SyncNever leaves it to the kernel.
//
// # Pauses
//
// Pause and Resume keep sensitive parts of the call (a card number read
// out, PCI DSS) out of the recording. While paused the file gets silence
// (PauseSilence, the default, keeping the timeline) or nothing (PauseSkip),
// and Info.Pauses lists every interval with its wall-clock times, its
// offset in the file and its length.
//
// # Files
//
// Path names a call's file dir/YYYY/MM/DD/<call id>.wav with the call id
// made safe by FileName; Create makes the directories with mode 0750 and
// the file with mode 0640 and never overwrites an existing recording. A
// RIFF file cannot describe more than 4 GiB (about 6 hours at 48 kHz
// stereo, 37 at 8 kHz); beyond that the recording stops and Info.Truncated
// says so.
//
// The package uses only the standard library and media/audio; it does not
// import media, which consumes it through its own interface.
package record
