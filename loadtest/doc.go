// Package loadtest is hotline's SIP load generator: it places many concurrent calls
// against an engine, each a real caller on the engine's own media code, and reports
// what those callers experienced and what it cost the engine. `hotline loadtest` is
// its command line; the capacity benchmark (bench/) drives it step by step.
//
// # What a call does
//
// A generated call is a SIP UAC on sipgo (UDP, or TCP) that offers G.711 or Opus with
// telephone-event, and then follows a script (Mode):
//
//   - ivr: hear the greeting (speech energy in the received RTP), wait until the
//     prompts end (PromptGap of silence), press the digits as RFC 4733 events
//     (media/dtmf.Sender), optionally say a phrase (espeak-ng speech rendered when
//     the run starts), hear the engine's answer, then wait for the engine's BYE or
//     hang up;
//   - greeting: hear the greeting and hang up, which measures full IVR call setup;
//   - signalling: send no media, hold and hang up.
//
// The caller always sends real audio paced at 20 ms: silence or its phrase, encoded
// once per run and shared by all calls, so a call costs the generator no encoding.
//
// # What is measured, per call
//
// Setup latency (INVITE → 200 OK), time to first audio (200 OK → first speech frame),
// the answer's latency (end of input → first speech frame), whether prompts began
// within their windows, RTP loss from sequence gaps and the RFC 3550 A.8 jitter, the
// inter-arrival gaps of the engine's packets (kernel receive timestamps, so the
// generator's own scheduling does not count against the engine), and whether the
// whole script completed. A Report totals them (percentiles, gap distribution,
// jitter per second), samples the engine's CPU and memory (/proc/<pid> or its
// /metrics) and the generator's own CPU, applies the quality Criteria and writes
// text, JSON or a self-contained HTML page with SVG plots.
//
// # Why it is cheap
//
// The generator must never be what limits a figure, so its media path follows the
// engine's own rules (DESIGN.md principle 3) and goes further: a few RTP sockets
// shared by all calls, each with one clock goroutine that sends a tick's packets
// with one sendmmsg and one receive goroutine that reads batches with recvmmsg
// (batch_linux.go); streams found by the engine's source port through a lock-free
// table; no allocation per packet (bench_test.go proves it). Its own CPU is in the
// report, and a run where it was busier than Criteria.MaxGeneratorCPU is marked
// invalid rather than failed.
//
// Files: config.go (Config, Mode, Criteria), run.go (Run, the call launcher),
// call.go (one call's script), sip.go (the sipgo user agent), media.go (socket pool
// and clock), stream.go (one call's RTP both ways), batch_linux.go and
// batch_other.go (batched socket I/O), energy.go (speech detection), stats.go
// (loss, jitter, gaps, percentiles), audio.go (phrase rendering and encoding),
// monitor.go (process sampling, progress line), report.go and html.go (output).
package loadtest
