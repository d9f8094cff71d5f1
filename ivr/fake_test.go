package ivr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
)

// The fakes below stand in for a SIP call and the TTS cache. Tests run them inside a
// testing/synctest bubble, so prompts "play" and timeouts run out in virtual time: a
// 5 s gather timeout costs nothing, and every timing is exact.

// synthMark is the value of every sample the fake synthesizer renders, plus the text's
// id: the fake channel reads it back to tell which text a Play spoke. WAV test tones
// never get near it.
const synthMark = -32768

// fakeSynth renders text as 10 ms of audio per byte, every sample marking the text.
type fakeSynth struct {
	mu    sync.Mutex
	ids   map[string]int16
	texts []string // by id-1
	asked []synthCall
	pcm   map[synthCall][]int16 // rendered prompts, returned again: a warm cache
	// fail, when set, makes Synthesize fail for the texts it returns an error for.
	fail func(text string) error
	// delay, when set, is how long a rendering takes (honouring ctx).
	delay time.Duration
}

type synthCall struct {
	text, voice string
	rate        int
}

func newFakeSynth() *fakeSynth {
	return &fakeSynth{ids: map[string]int16{}, pcm: map[synthCall][]int16{}}
}

func (s *fakeSynth) Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error) {
	s.mu.Lock()
	k := synthCall{text, voice, rate}
	s.asked = append(s.asked, k)
	fail, delay := s.fail, s.delay
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(text); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pcm, ok := s.pcm[k]; ok {
		return pcm, nil
	}
	id, ok := s.ids[text]
	if !ok {
		s.texts = append(s.texts, text)
		id = int16(len(s.texts))
		s.ids[text] = id
	}
	pcm := make([]int16, len(text)*rate/100)
	for i := range pcm {
		pcm[i] = synthMark + id
	}
	s.pcm[k] = pcm
	return pcm, nil
}

// text returns the text whose rendering starts with sample v, or "".
func (s *fakeSynth) text(v int16) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int(v) - synthMark
	if id < 1 || id > len(s.texts) {
		return ""
	}
	return s.texts[id-1]
}

// texts returns every text Synthesize was asked for, in order.
func (s *fakeSynth) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.asked))
	for i, a := range s.asked {
		out[i] = a.text
	}
	return out
}

// fakeChannel is a call leg that records what the runtime did to it.
type fakeChannel struct {
	rate   int
	synth  *fakeSynth // names synthesized plays
	start  time.Time
	digits chan byte
	stop   chan struct{} // closed by close: pending key presses give up

	closeOnce sync.Once

	mu     sync.Mutex
	events []string // ring, early, answer, play, hangup, in order
	plays  []playRec
	active int // Plays in progress
	// Errors the next calls return, when set.
	ringErr, answerErr, hangupErr error
	playErr                       func(p playRec) error
	// onPlayEnd, when set, is called after each Play ended (the scripted caller).
	onPlayEnd func(p playRec)
}

// playRec is one Play: what it played and when, relative to the call's start.
type playRec struct {
	text        string  // the synthesized text, "" for other audio
	pcm         []int16 // every sample of the source
	start, end  time.Duration
	length      time.Duration // of the whole source at the call's rate
	interrupted bool          // ctx ended before the source did
}

func newFakeChannel(synth *fakeSynth) *fakeChannel {
	return &fakeChannel{
		rate:   8000,
		synth:  synth,
		start:  time.Now(),
		digits: make(chan byte, 64), // like media.Session's
		stop:   make(chan struct{}),
	}
}

func (c *fakeChannel) ID() string      { return "call-1" }
func (c *fakeChannel) Caller() string  { return "+15551230000" }
func (c *fakeChannel) Called() string  { return "100" }
func (c *fakeChannel) SampleRate() int { return c.rate }
func (c *fakeChannel) Digits() <-chan byte {
	return c.digits
}

func (c *fakeChannel) record(ev string, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, ev)
	return err
}

func (c *fakeChannel) Ring(context.Context) error { return c.record("ring", c.ringErr) }
func (c *fakeChannel) EarlyMedia(context.Context) error {
	return c.record("early", nil)
}
func (c *fakeChannel) Answer(context.Context) error { return c.record("answer", c.answerErr) }
func (c *fakeChannel) Hangup(context.Context) error { return c.record("hangup", c.hangupErr) }

// Play reads the whole source, then "plays" it for its length in (virtual) time, or
// until ctx ends.
func (c *fakeChannel) Play(ctx context.Context, src media.Source) error {
	var pcm []int16
	frame := make([]int16, 160)
	for {
		n, err := src.Read(frame)
		pcm = append(pcm, frame[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	p := playRec{
		pcm:    pcm,
		start:  time.Since(c.start),
		length: time.Duration(len(pcm)) * time.Second / time.Duration(c.rate),
	}
	if len(pcm) > 0 && c.synth != nil {
		p.text = c.synth.text(pcm[0])
	}
	c.mu.Lock()
	c.events = append(c.events, "play")
	c.active++
	var err error
	if c.playErr != nil {
		err = c.playErr(p)
	}
	c.mu.Unlock()
	defer func() {
		p.end = time.Since(c.start)
		c.mu.Lock()
		c.plays = append(c.plays, p)
		c.active--
		hook := c.onPlayEnd
		c.mu.Unlock()
		if hook != nil {
			hook(p)
		}
	}()
	if err != nil {
		return err
	}
	t := time.NewTimer(p.length)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		p.interrupted = true
		return ctx.Err()
	}
}

// press sends keys, all at once, at time at after the call started.
func (c *fakeChannel) press(at time.Duration, keys string) {
	go func() {
		t := time.NewTimer(at - time.Since(c.start))
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.stop:
			return
		}
		for i := range len(keys) {
			select {
			case c.digits <- keys[i]:
			case <-c.stop:
				return
			}
		}
	}()
}

// close ends pending key presses; tests defer it so the bubble can end.
func (c *fakeChannel) close() { c.closeOnce.Do(func() { close(c.stop) }) }

// signals returns the call control events, without plays.
func (c *fakeChannel) signals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(c.events), func(e string) bool { return e == "play" })
}

func (c *fakeChannel) allEvents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

func (c *fakeChannel) played() []playRec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.plays)
}

// said lists the texts of the synthesized plays, in order.
func (c *fakeChannel) said() []string {
	var out []string
	for _, p := range c.played() {
		if p.text != "" {
			out = append(out, p.text)
		}
	}
	return out
}

func (c *fakeChannel) playing() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// harness is one runtime with its fakes and metrics.
type harness struct {
	t     *testing.T
	synth *fakeSynth
	ch    *fakeChannel
	reg   *prometheus.Registry
	rt    *Runtime
	svc   *services // nil for newHarness
	opts  []Option  // the runtime's options, for rebuilding it
	// audio, when set, makes the channel give the caller's audio (CallerAudio).
	audio func(at time.Duration) int16
}

// services are the fakes of every service the runtime can be wired with.
type services struct {
	rec      *fakeRecognizer
	cls      *fakeClassifier
	sent     fakeSentiment
	queue    *fakeQueue
	xfer     *fakeTransferer
	recorder *fakeRecorder
	tickets  *fakeTickets
	billing  *billing
}

func newServices() *services {
	return &services{
		rec: &fakeRecognizer{}, cls: &fakeClassifier{}, sent: fakeSentiment{},
		queue: &fakeQueue{results: map[string]QueueResult{}, status: map[string]QueueStatus{}},
		xfer:  &fakeTransferer{}, recorder: &fakeRecorder{}, tickets: &fakeTickets{}, billing: &billing{},
	}
}

func (s *services) options() []Option {
	return []Option{
		WithRecognizer(s.rec), WithClassifier(s.cls), WithSentiment(s.sent), WithQueue(s.queue),
		WithTransferer(s.xfer), WithRecorder(s.recorder), WithTickets(s.tickets),
		WithHTTPClient(&http.Client{Transport: handlerTransport{s.billing}}),
	}
}

// newServiceHarness is newHarness with every service wired to a fake; opts come
// after the fakes' options, so a test can replace one.
func newServiceHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	svc := newServices()
	h := newHarness(t, append(svc.options(), opts...)...)
	h.svc = svc
	return h
}

// ssml rebuilds the runtime with a synthesizer that takes SSML documents.
func (h *harness) ssml() {
	h.rt = New(ssmlSynth{h.synth}, h.opts...)
}

// ssmlSynth is the fake synthesizer declaring SSML support (SSMLSynthesizer).
type ssmlSynth struct{ *fakeSynth }

func (ssmlSynth) SSML() bool { return true }

// channel is the Channel Run gets: the fake, with caller audio when h.audio is set.
func (h *harness) channel() Channel {
	if h.audio != nil {
		return &audioChannel{fakeChannel: h.ch, sample: h.audio}
	}
	return h.ch
}

// script runs f with a scripted caller and checks that every step was taken.
func (h *harness) script(f *flows.Flow, steps ...step) Result {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.t.Context())
	defer cancel()
	var rec *fakeRecognizer
	if h.svc != nil {
		rec = h.svc.rec
	}
	c := &caller{steps: steps, ch: h.ch, rec: rec, cancel: cancel}
	h.ch.mu.Lock()
	h.ch.onPlayEnd = c.played
	h.ch.mu.Unlock()
	res := h.rt.Run(ctx, h.channel(), f)
	if n := h.ch.playing(); n != 0 {
		h.t.Errorf("%d Play calls still running after Run returned", n)
	}
	if left := c.left(); len(left) > 0 {
		h.t.Errorf("script steps not taken: %+v (said %q)", left, h.ch.said())
	}
	return res
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	synth := newFakeSynth()
	ch := newFakeChannel(synth)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]Option{WithLogger(log), WithMetrics(m)}, opts...)
	return &harness{t: t, synth: synth, ch: ch, reg: reg, rt: New(synth, opts...), opts: opts}
}

// run runs f on the harness's channel and checks that no Play outlived Run.
func (h *harness) run(ctx context.Context, f *flows.Flow) Result {
	h.t.Helper()
	res := h.rt.Run(ctx, h.channel(), f)
	if n := h.ch.playing(); n != 0 {
		h.t.Errorf("%d Play calls still running after Run returned", n)
	}
	return res
}

// parse loads an inline flow.
func parse(t testing.TB, src string) *flows.Flow {
	t.Helper()
	f, err := flows.Parse(nil, "test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("flow does not load:\n%v", err)
	}
	return f
}

func sample(t testing.TB) *flows.Flow {
	t.Helper()
	f, err := flows.Sample()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sayText returns the text of say node name.
func sayText(t testing.TB, f *flows.Flow, name string) string {
	t.Helper()
	s, ok := f.Nodes[name].Action.(*flows.Say)
	if !ok {
		t.Fatalf("node %q is not a say node", name)
	}
	return s.Text
}

func gatherOf(t testing.TB, f *flows.Flow, name string) *flows.Gather {
	t.Helper()
	g, ok := f.Nodes[name].Action.(*flows.Gather)
	if !ok {
		t.Fatalf("node %q is not a gather node", name)
	}
	return g
}

// speech is how long the fake synthesizer's rendering of text lasts.
func speech(text string) time.Duration { return time.Duration(len(text)) * 10 * time.Millisecond }

var sprintf = fmt.Sprintf

func path(res Result) string { return strings.Join(res.Path, ">") }

func checkStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, fmt.Sprintf("%q", got), fmt.Sprintf("%q", want))
	}
}

// series renders the named metric families of g as sorted "name{labels} value" lines,
// like the exposition format without HELP and TYPE. (prometheus/testutil would do, but
// it needs a module this repository's go.sum does not list.)
func series(t testing.TB, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkSeries compares series(g, names...) with want, given one series a line.
func checkSeries(t testing.TB, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	if got := series(t, g, names...); got != strings.Join(lines, "\n") {
		t.Errorf("metrics:\n%s\nwant:\n%s", got, strings.Join(lines, "\n"))
	}
}

// counterValue returns the value of one series of g, labels written as series writes
// them, or -1 when it does not exist.
func counterValue(t testing.TB, g prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	prefix := name + "{" + labels + "} "
	for _, l := range strings.Split(series(t, g, name), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}
