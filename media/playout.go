package media

import (
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/jitter"
	"github.com/hotline-ivr/hotline/media/plc"
	"github.com/hotline-ivr/hotline/media/vad"
)

// Playout: the caller's audio, from the jitter buffer to the detectors and sinks.
//
// The RTP socket's reader (the clock shard or the receive goroutine, recv.go) Pushes
// each audio packet into the jitter buffer. The clock tick
// that emits our outgoing frame also plays out one frame of the caller's: it Pops what
// is due, decodes it (or conceals a loss: Opus FEC from the next packet or the Opus
// decoder's PLC, G.711 Appendix I for G.711 and G.722), and hands the PCM, at the codec's
// sample rate, to the in-band DTMF detector, the VAD and the sinks. One tick drives both
// directions, so the stereo sinks get the caller's frame and ours side by side.
//
// A PCM queue between decoder and frames absorbs a caller whose packet time differs
// from ours (30 ms packets against 20 ms frames: some ticks decode one packet, some
// none; 10 ms packets: two per tick) and Opus packets of up to 120 ms.

// opusCNGLimit bounds how long a pause in an Opus stream (DTX: the timestamp jumps but
// sequence numbers do not, so the jitter buffer reports Silence) is filled by the
// decoder's concealment, which fades the background noise the last packets carried to
// silence, before plain zeros take over and cost nothing.
const opusCNGLimit = 400 * time.Millisecond

// playout is the per-codec receive state. jb is shared with the RTP socket's reader
// (it has its own lock); everything else belongs to the clock goroutine, under sendMu.
type playout struct {
	codec   codec.Codec
	rate    int
	jb      *jitter.Buffer
	dec     codec.Decoder
	decUsed bool             // dec decoded something: a new stream needs a fresh one
	conceal codec.Concealer  // the decoder's own concealment (Opus), or nil
	fec     codec.FECDecoder // the decoder's in-band FEC (Opus), or nil
	plc     *plc.Concealer   // G.711 Appendix I for decoders without concealment
	inband  *dtmf.Detector   // nil when the rate is not one the detector takes
	maxDec  int              // samples one decode may produce
	queue   []int16          // decoded PCM not yet played; len is what it holds
	silent  []int16          // zeros: our side of a stereo frame when not sending
	cngRun  time.Duration    // Silence filled with Opus concealment in a row
	quiet   bool             // last SetQuiet given to jb

	// What the VAD hears in place of audio the playout invented (see runVAD).
	carrySynth bool    // the samples left in queue came from a concealed or silent frame
	heardReal  bool    // a decoded frame has been played
	bg         []int16 // the caller's background: a recent decoded frame without speech
	bgEnergy   int64   // its energy; 0: none yet
	bgAge      int     // frames since bg was last replaced

	// While nothing hears the caller (passing), frames are popped but not decoded:
	// passed stands for the samples queue would hold (see pass).
	passing bool
	passed  int

	reportedLate uint64 // hotline_rtp_late_packets_total already counted
	m            *Metrics
}

// newPlayout prepares the receive side of codec c: a jitter buffer sized for its clock
// and packets, a decoder, concealment and an in-band DTMF detector.
func newPlayout(c codec.Codec, ptime time.Duration, cfg Config, m *Metrics) (*playout, error) {
	maxPacket := jitter.DefaultMaxPacket
	switch c.Name() {
	case "PCMU", "PCMA", "G722":
		maxPacket = c.ClockRate() * 120 / 1000 // one octet per clock tick, 120 ms at most
	}
	jb, err := jitter.New(jitter.Config{
		MinDelay:      cfg.Jitter.MinDelay,
		MaxDelay:      cfg.Jitter.MaxDelay,
		Disabled:      cfg.Jitter.Disabled,
		ClockRate:     c.ClockRate(),
		FrameDuration: min(ptime, 120*time.Millisecond),
		MaxPacket:     maxPacket,
	})
	if err != nil {
		return nil, fmt.Errorf("media: jitter buffer for %s: %w", c.Name(), err)
	}
	pl := &playout{codec: c, rate: c.SampleRate(), jb: jb, m: m}
	if err := pl.newDecoder(); err != nil {
		return nil, err
	}
	// Room for any packet: Opus up to 120 ms whatever ptime says (STYLE.md habit 3),
	// G.722 two samples per octet, G.711 one.
	pl.maxDec = 2 * maxPacket
	if pl.fec != nil || pl.conceal != nil {
		pl.maxDec = max(pl.maxDec, codec.OpusMaxFrameSamples*pl.rate/48000)
	}
	if pl.conceal == nil {
		if pl.plc, err = plc.New(pl.rate); err != nil {
			pl.plc = nil // an exotic rate: losses become silence
		}
	}
	if cfg.InbandDTMF != InbandDTMFOff {
		if pl.inband, err = dtmf.NewDetector(pl.rate); err != nil {
			pl.inband = nil
		}
	}
	return pl, nil
}

// newDecoder makes a fresh decoder: at the start, and for a new stream (SSRC change,
// sender restart) once the old one has decoded something. Only the latter allocates
// on the clock goroutine, and only when the caller's stream changes.
func (pl *playout) newDecoder() error {
	dec, err := pl.codec.NewDecoder()
	if err != nil {
		return fmt.Errorf("media: %s decoder: %w", pl.codec.Name(), err)
	}
	pl.dec, pl.decUsed = dec, false
	pl.conceal, _ = dec.(codec.Concealer)
	pl.fec, _ = dec.(codec.FECDecoder)
	return nil
}

// ensure sizes the buffers for frames of spf samples; it allocates only when the
// packet time grows.
func (pl *playout) ensure(spf int) {
	if cap(pl.queue) < spf+pl.maxDec {
		q := make([]int16, len(pl.queue), spf+pl.maxDec)
		copy(q, pl.queue)
		pl.queue = q
	}
	if cap(pl.silent) < spf {
		pl.silent = make([]int16, spf)
		pl.bg, pl.bgEnergy = make([]int16, spf), 0
	}
}

// playFrame plays one frame of the caller's audio at due (the frame's slot on the media
// clock) and fans it out together with ours (engine, nil when we sent nothing). The
// caller holds sendMu. It does not allocate in steady state.
func (s *Session) playFrame(p *sessionParams, due time.Time, engine []int16) {
	pl := p.play
	spf := p.samplesPerFrame
	if !s.hearsCaller(p, pl) {
		pl.pass(s, due, spf)
		return
	}
	pl.ensure(spf)
	if pl.passing {
		pl.resume()
	}
	synthetic := pl.carrySynth && len(pl.queue) > 0
	// Every fill adds at least one sample; the bound guards against a decoder that
	// keeps failing to produce any.
	for i := 0; len(pl.queue) < spf && i < 32; i++ {
		if pl.fill(s, due, spf) {
			synthetic, pl.carrySynth = true, true
		} else {
			pl.carrySynth = false
		}
	}
	if len(pl.queue) < spf {
		n := len(pl.queue)
		pl.queue = pl.queue[:spf]
		clear(pl.queue[n:])
		synthetic = true
	}
	// The frame is handed out where it was decoded, the head of the queue, and the
	// queue moves up after: a copy into a frame buffer of its own would be one more
	// buffer of every call for each tick to bring back into the cache.
	if engine == nil {
		engine = pl.silent[:spf]
	}
	s.fanOut(p, pl, pl.queue[:spf], engine, synthetic, due)
	rest := copy(pl.queue, pl.queue[spf:])
	pl.queue = pl.queue[:rest]
}

// hearsCaller reports whether anything takes the caller's audio: the in-band DTMF
// detector, the VAD, a sink (a recognizer, a recording, a bridge to an agent). The
// caller holds sendMu.
func (s *Session) hearsCaller(p *sessionParams, pl *playout) bool {
	return (p.inband && pl.inband != nil) || s.vadCfg != nil ||
		len(*s.sinks.Load()) > 0 || len(*s.stereo.Load()) > 0
}

// pass plays one frame that nothing hears: an IVR that waits for RFC 4733 digits, or
// plays a prompt without listening, has no use for the caller's PCM, and decoding it
// and keeping the concealer's history was a tenth of a G.711 call's tick
// (bench/PROFILE.md, "Audio nobody hears"). The jitter buffer still gives up what is
// due, so its statistics, delay and digits go on as before, and a lost frame still
// counts as concealed; only the samples are not made. passed counts what queue would
// hold, so a caller whose packet time differs from ours is popped at the same pace.
func (pl *playout) pass(s *Session, due time.Time, spf int) {
	if !pl.passing {
		pl.passing, pl.passed = true, len(pl.queue)
		pl.queue = pl.queue[:0]
	}
	for i := 0; pl.passed < spf && i < 32; i++ {
		f := pl.jb.Pop(due)
		if f.Lost {
			pl.countConcealed(s)
		}
		pl.passed += pl.samples(f, spf)
	}
	pl.passed = max(pl.passed-spf, 0)
}

// resume starts decoding again when something begins to hear the caller. What the
// queue stood for while passing becomes silence, and the decoder and the concealer
// start afresh as for a new stream: their state is of audio from before the pause.
func (pl *playout) resume() {
	n := min(pl.passed, cap(pl.queue))
	pl.queue = pl.queue[:n]
	clear(pl.queue)
	pl.carrySynth = n > 0
	pl.passing, pl.passed = false, 0
	pl.resetStream()
}

// fill pops one frame from the jitter buffer and appends its PCM to the queue. It
// reports whether that PCM was invented (concealment, comfort noise or silence) rather
// than decoded from a packet.
func (pl *playout) fill(s *Session, due time.Time, spf int) (synthetic bool) {
	f := pl.jb.Pop(due)
	n := pl.samples(f, spf)
	at := len(pl.queue)
	tail := pl.queue[at : at+pl.maxDec]
	synthetic = true
	switch {
	case f.Lost:
		n = pl.lose(s, tail[:n], f.Next)
	case f.Silence:
		pl.silence(tail[:n], f.Duration)
	default:
		if f.NewStream {
			pl.resetStream()
		}
		k, err := pl.dec.Decode(tail, f.Payload)
		pl.decUsed = true
		pl.cngRun = 0
		switch {
		case err != nil:
			pl.m.decodeError.Inc()
			n = pl.lose(s, tail[:n], nil)
		case k == 0:
			// An empty payload (G.711, G.722): nothing to play for this packet time.
			pl.silence(tail[:n], 0)
		default:
			n, synthetic = k, false
			if pl.plc != nil {
				pl.plc.Good(tail[:k]) // the merge after a loss happens in place
			}
		}
	}
	pl.queue = pl.queue[:at+n]
	return synthetic
}

// samples is how many samples frame f stands for at the playout's rate: its duration,
// or one of our frames (spf) when the buffer could not infer one.
func (pl *playout) samples(f jitter.Frame, spf int) int {
	n := int(int64(f.Duration) * int64(pl.rate) / int64(time.Second))
	if n <= 0 || n > pl.maxDec {
		n = min(spf, pl.maxDec)
	}
	return n
}

// countConcealed counts one lost frame: in hotline_media_concealed_frames_total and in
// the call's Stats.
func (pl *playout) countConcealed(s *Session) {
	pl.m.concealed.Inc()
	s.stats.concealed.Add(1)
}

// lose conceals one lost frame into out and returns its length: from the next packet's
// in-band FEC when it is there (Opus, RFC 6716 §2.1.7), else by the decoder's own
// concealment, else by G.711 Appendix I, else silence.
func (pl *playout) lose(s *Session, out []int16, next []byte) int {
	pl.countConcealed(s)
	if pl.fec != nil && next != nil && pl.decUsed {
		if k, err := pl.fec.DecodeFEC(out, next); err == nil {
			pl.m.fecRecovered.Inc()
			return k
		}
	}
	if pl.conceal != nil {
		if k, err := pl.conceal.Conceal(out); err == nil {
			return k
		}
	}
	if pl.plc != nil {
		pl.plc.Conceal(out)
		return len(out)
	}
	clear(out)
	return len(out)
}

// silence fills a frame in which nothing was expected: comfort noise fading out for a
// while after Opus audio (DTX), zeros otherwise, which the G.711 concealer records as
// what was heard.
func (pl *playout) silence(out []int16, d time.Duration) {
	if pl.conceal != nil && pl.decUsed && pl.cngRun < opusCNGLimit {
		if _, err := pl.conceal.Conceal(out); err == nil {
			pl.cngRun += d
			return
		}
	}
	clear(out)
	if pl.plc != nil {
		pl.plc.Good(out)
	}
}

// resetStream starts a new stream (SSRC change, sender restart): a stateful decoder
// must not carry the old stream's state into the new one, nor PLC repeat its audio.
func (pl *playout) resetStream() {
	if pl.decUsed {
		_ = pl.newDecoder() // on failure the old decoder goes on: better than nothing
	}
	if pl.plc != nil {
		pl.plc.Reset()
	}
	pl.cngRun = 0
}

// fanOut hands one frame of the caller's audio to the in-band DTMF detector, the VAD
// and the sinks. The caller holds sendMu. A consumer added here must be one that
// hearsCaller counts too, or its frames are never decoded.
func (s *Session) fanOut(p *sessionParams, pl *playout, caller, engine []int16, synthetic bool, due time.Time) {
	if p.inband && pl.inband != nil {
		for _, d := range pl.inband.Process(caller) {
			s.digitFrom(d, dtmf.RouteInband, due)
		}
	}
	if s.vadCfg != nil {
		s.runVAD(pl, caller, synthetic, due)
	}
	for _, e := range *s.sinks.Load() {
		e.v.WriteAudio(caller)
	}
	for _, e := range *s.stereo.Load() {
		e.v.WriteStereo(caller, engine)
	}
}

// runVAD feeds the frame to the voice activity detector in 10 ms pieces, reports speech
// start and end, and tells the jitter buffer when the caller is quiet, so the delay it
// grew during a jitter episode can shrink in a pause.
//
// Audio the playout invented is not what the caller's line sounds like: concealment
// fades to digital silence within 60 ms, and silence fills underruns and DTX pauses.
// The detector's noise model (minimum statistics) would take that silence for the
// line's noise floor, and the caller's ordinary background noise coming back after a
// network stall of 80 ms would read as speech: a false barge-in (measured: every gap
// of four packets or more on a line with -60 dBFS noise). So for invented frames the
// detector hears the caller's background instead, a recent decoded frame without
// speech (zeros while there is none), and nothing at all before the first decoded
// frame, so it learns the real line from its first 100 ms.
func (s *Session) runVAD(pl *playout, caller []int16, synthetic bool, due time.Time) {
	in := caller
	if synthetic {
		switch {
		case pl.bgEnergy > 0:
			in = pl.bg[:len(caller)]
		case pl.heardReal:
			in = pl.silent[:len(caller)]
		default:
			return
		}
	} else {
		pl.heardReal = true
	}
	if s.vad == nil || s.vadRate != pl.rate {
		// A codec change moved the rate: a new detector (allocates, once).
		d, err := newVAD(*s.vadCfg, pl.rate)
		if err != nil {
			return
		}
		s.vad, s.vadRate = d, pl.rate
	}
	d := s.vad
	fl := d.FrameLen()
	for off := 0; off+fl <= len(in); off += fl {
		switch ev := d.Process(in[off : off+fl]); ev {
		case vad.SpeechStart, vad.SpeechEnd:
			at := due.Add(time.Duration(int64(off+fl) * int64(time.Second) / int64(pl.rate)))
			s.speechEvent(SpeechEvent{Kind: ev, At: at, OnsetOffset: d.OnsetOffset()})
		}
	}
	if quiet := !d.Speaking(); quiet != pl.quiet {
		pl.quiet = quiet
		pl.jb.SetQuiet(quiet)
	}
	if !synthetic && !d.Speaking() {
		pl.keepBackground(caller)
	}
}

// keepBackground remembers frame as the caller's background unless it is much louder
// than the one kept (6 dB: likely the first syllable, not yet long enough for
// SpeechStart); after a second without a replacement any quiet frame will do, so a
// background that really grew louder is followed.
func (pl *playout) keepBackground(frame []int16) {
	var e int64
	for _, v := range frame {
		e += int64(v) * int64(v)
	}
	e = max(e, 1)
	pl.bgAge++
	if pl.bgEnergy == 0 || e <= 4*pl.bgEnergy || pl.bgAge > 50 {
		copy(pl.bg, frame)
		pl.bgEnergy, pl.bgAge = e, 0
	}
}
