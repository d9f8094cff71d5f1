package ivr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Fakes of the services the runtime consumes, and a scripted caller. Like the fake
// channel they run inside a synctest bubble: speech "lasts" 10 ms per byte of text,
// timers are virtual.

// step is one thing the scripted caller does: when a prompt whose text contains
// prompt ("" any prompt) has ended, wait delay, then press keys, say speech, or hang
// up. Steps run in order; each waits for its own prompt.
type step struct {
	prompt string
	delay  time.Duration
	keys   string
	speech string
	hangup bool
}

// caller plays a script against a fake channel and recognizer.
type caller struct {
	mu     sync.Mutex
	steps  []step
	ch     *fakeChannel
	rec    *fakeRecognizer
	cancel context.CancelFunc
}

// played is the fake channel's hook: it starts the next step when its prompt ended.
func (c *caller) played(p playRec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.steps) == 0 {
		return
	}
	s := c.steps[0]
	if s.prompt != "" && !strings.Contains(p.text, s.prompt) {
		return
	}
	c.steps = c.steps[1:]
	time.AfterFunc(s.delay, func() {
		switch {
		case s.hangup:
			c.cancel()
		case s.keys != "":
			for i := range len(s.keys) {
				select {
				case c.ch.digits <- s.keys[i]:
				case <-c.ch.stop:
					return
				}
			}
		case s.speech != "":
			c.rec.say(utterance{text: s.speech, conf: 0.9})
		}
	})
}

// left returns the steps not taken, for a test to report.
func (c *caller) left() []step {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.steps
}

// audioChannel is a fake channel that also gives the caller's audio: 20 ms frames of
// what sample returns for each instant of the call, fed while a listener is on.
type audioChannel struct {
	*fakeChannel
	sample func(at time.Duration) int16
	frames int // frames delivered, all listeners
	mu     sync.Mutex
}

func (a *audioChannel) ListenAudio(sink AudioSink) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		frame := make([]int16, a.rate/50)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			at := time.Since(a.start)
			for i := range frame {
				frame[i] = a.sample(at + time.Duration(i)*time.Second/time.Duration(a.rate))
			}
			_ = sink.WriteSample(frame)
			a.mu.Lock()
			a.frames++
			a.mu.Unlock()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}

// utterance is something the caller says.
type utterance struct {
	text string
	conf float64
}

// fakeRecognizer hears what the script says: an utterance goes to the open stream,
// or waits for the next one to open. It starts at once and ends after 10 ms per byte.
type fakeRecognizer struct {
	mu       sync.Mutex
	pending  []utterance
	open     []*fakeStream
	reqs     []SpeechRequest
	startErr error // Recognize fails with it (for Backend != "fallback")
	failWith error // streams report SpeechError when something is said
	closed   int
}

func (r *fakeRecognizer) Recognize(ctx context.Context, req SpeechRequest) (SpeechStream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	if r.startErr != nil && req.Backend != "fallback" {
		return nil, r.startErr
	}
	s := &fakeStream{r: r, events: make(chan SpeechEvent, 8)}
	r.open = append(r.open, s)
	if len(r.pending) > 0 {
		u := r.pending[0]
		r.pending = r.pending[1:]
		s.hear(u)
	}
	return s, nil
}

func (r *fakeRecognizer) say(u utterance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.open {
		if !s.busy {
			s.hear(u)
			return
		}
	}
	r.pending = append(r.pending, u)
}

func (r *fakeRecognizer) requests() []SpeechRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SpeechRequest(nil), r.reqs...)
}

// openStreams is the number of streams not closed.
func (r *fakeRecognizer) openStreams() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.open)
}

type fakeStream struct {
	r       *fakeRecognizer
	events  chan SpeechEvent
	busy    bool // hearing an utterance
	heard   string
	samples int
	timer   *time.Timer
	ended   bool
	closed  bool
}

// hear starts an utterance; the recognizer's lock is held.
func (s *fakeStream) hear(u utterance) {
	s.busy = true
	s.send(SpeechEvent{Type: SpeechStarted})
	if s.r.failWith != nil {
		s.send(SpeechEvent{Type: SpeechError, Err: s.r.failWith})
		s.end()
		return
	}
	s.timer = time.AfterFunc(speech(u.text), func() {
		s.r.mu.Lock()
		defer s.r.mu.Unlock()
		s.send(SpeechEvent{Type: SpeechFinal, Text: u.text, Confidence: u.conf})
		s.end()
	})
	s.heard = u.text
}

func (s *fakeStream) send(ev SpeechEvent) {
	if s.ended || s.closed {
		return
	}
	select {
	case s.events <- ev:
	default:
	}
}

func (s *fakeStream) end() {
	if !s.ended {
		s.ended = true
		close(s.events)
	}
}

func (s *fakeStream) WriteSample(pcm []int16) error {
	s.r.mu.Lock()
	s.samples += len(pcm)
	s.r.mu.Unlock()
	return nil
}

func (s *fakeStream) Events() <-chan SpeechEvent { return s.events }

// Finish delivers what was heard so far: the utterance cut short.
func (s *fakeStream) Finish() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.send(SpeechEvent{Type: SpeechFinal, Text: s.heard, Confidence: 0.5})
	s.end()
}

func (s *fakeStream) Close() error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.closed = true
	s.r.closed++
	for i, o := range s.r.open {
		if o == s {
			s.r.open = append(s.r.open[:i], s.r.open[i+1:]...)
			break
		}
	}
	return nil
}

// fakeClassifier is trained per flow (FlowClassifier): a text holding one of an
// intent's phrases is that intent with confidence 0.9; scores overrides by text.
type fakeClassifier struct {
	mu      sync.Mutex
	trained []string // flows trained
	scores  map[string]float64
	err     error
}

type flowClassifier struct {
	parent *fakeClassifier
	f      *flows.Flow
}

func (c *fakeClassifier) Classify(context.Context, string, string) (string, float64, error) {
	return "", 0, errors.New("fakeClassifier used without training")
}

func (c *fakeClassifier) ForFlow(f *flows.Flow) (Classifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trained = append(c.trained, f.Name)
	return &flowClassifier{c, f}, nil
}

func (fc *flowClassifier) Classify(_ context.Context, text, lang string) (string, float64, error) {
	if fc.parent.err != nil {
		return "", 0, fc.parent.err
	}
	t := normalize(text)
	best, bestLen := "", 0
	for _, name := range sortedKeys(fc.f.Intents) {
		for _, p := range phrasesIn(fc.f, fc.f.Intents[name].Phrases, lang) {
			if np := normalize(p); len(np) > bestLen && containsPhrase(t, np) {
				best, bestLen = name, len(np)
			}
		}
	}
	conf := 0.0
	if best != "" {
		conf = 0.9
	}
	if s, ok := fc.parent.scores[text]; ok {
		conf = s
	}
	return best, conf, nil
}

// fakeSentiment scores texts holding a word of its list.
type fakeSentiment map[string]float64

func (s fakeSentiment) Sentiment(_ context.Context, text, _ string) (float64, error) {
	for w, v := range s {
		if strings.Contains(strings.ToLower(text), w) {
			return v, nil
		}
	}
	return 0, nil
}

// fakeQueue is an ACD: each queue name's scripted behaviour, and its live figures.
type fakeQueue struct {
	mu      sync.Mutex
	reqs    []QueueRequest
	results map[string]QueueResult // by flow queue name; default completed
	status  map[string]QueueStatus // by ACD id
	err     error
	// leg, when set, runs with the call leg before Enqueue returns (hold music,
	// announcements, the callback offer).
	leg func(ctx context.Context, req QueueRequest) (QueueResult, error)
}

func (q *fakeQueue) Enqueue(ctx context.Context, req QueueRequest) (QueueResult, error) {
	q.mu.Lock()
	q.reqs = append(q.reqs, req)
	res, ok := q.results[req.Name]
	leg, err := q.leg, q.err
	q.mu.Unlock()
	if err != nil {
		return QueueResult{}, err
	}
	if leg != nil {
		return leg(ctx, req)
	}
	if !ok {
		res = QueueResult{Outcome: flows.OutcomeCompleted, Agent: "agent-7", Waited: 30 * time.Second}
	}
	t := time.NewTimer(res.Waited)
	defer t.Stop()
	select {
	case <-t.C:
		return res, nil
	case <-ctx.Done():
		return QueueResult{}, ctx.Err()
	}
}

func (q *fakeQueue) QueueStatus(_ context.Context, id string) (QueueStatus, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.status[id], nil
}

func (q *fakeQueue) requests() []QueueRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]QueueRequest(nil), q.reqs...)
}

// fakeTransferer answers every transfer with outcome.
type fakeTransferer struct {
	mu      sync.Mutex
	reqs    []TransferRequest
	outcome flows.Outcome
	err     error
}

func (t *fakeTransferer) Transfer(_ context.Context, _ Channel, req TransferRequest) (flows.Outcome, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reqs = append(t.reqs, req)
	if t.outcome == "" {
		return flows.OutcomeOK, t.err
	}
	return t.outcome, t.err
}

// fakeRecorder keeps recordings in memory.
type fakeRecorder struct {
	mu        sync.Mutex
	reqs      []RecordingRequest
	kept      map[string]int // ref to samples
	discarded int
	err       error
}

type fakeRecording struct {
	r       *fakeRecorder
	ref     string
	samples int
}

func (r *fakeRecorder) StartRecording(_ context.Context, req RecordingRequest) (Recording, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	r.reqs = append(r.reqs, req)
	return &fakeRecording{r: r, ref: fmt.Sprintf("rec-%d", len(r.reqs))}, nil
}

func (rc *fakeRecording) WriteSample(pcm []int16) error {
	rc.r.mu.Lock()
	rc.samples += len(pcm)
	rc.r.mu.Unlock()
	return nil
}

func (rc *fakeRecording) Finish(context.Context) (string, error) {
	rc.r.mu.Lock()
	defer rc.r.mu.Unlock()
	if rc.r.kept == nil {
		rc.r.kept = map[string]int{}
	}
	rc.r.kept[rc.ref] = rc.samples
	return rc.ref, nil
}

func (rc *fakeRecording) Discard(context.Context) error {
	rc.r.mu.Lock()
	defer rc.r.mu.Unlock()
	rc.r.discarded++
	return nil
}

// fakeTickets numbers tickets T-1001, T-1002…
type fakeTickets struct {
	mu      sync.Mutex
	tickets []Ticket
	err     error
}

func (s *fakeTickets) CreateTicket(_ context.Context, t Ticket) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.tickets = append(s.tickets, t)
	return fmt.Sprintf("T-%d", 1000+len(s.tickets)), nil
}

func (s *fakeTickets) all() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ticket(nil), s.tickets...)
}

// billing is the mock billing service of flows/env.yaml's comments: GET
// /accounts/{account} answers 200 with the account or 404; POST /events/call-ended
// takes any JSON and answers 204. Every request needs the X-Api-Key of env.yaml.
type billing struct {
	mu     sync.Mutex
	events []map[string]any
	hits   []string
	// fail, when set, answers instead (status, or a wait on the request's context
	// when status is 0).
	fail func(n int) int
}

func (b *billing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits = append(b.hits, r.Method+" "+r.URL.Path)
	n := len(b.hits)
	fail := b.fail
	b.mu.Unlock()
	if fail != nil {
		if st := fail(n); st == 0 {
			<-r.Context().Done()
			return
		} else if st != 200 {
			w.WriteHeader(st)
			return
		}
	}
	if r.Header.Get("X-Api-Key") != "dev-key" {
		http.Error(w, "bad key", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/accounts/"):
		if strings.TrimPrefix(r.URL.Path, "/accounts/") != "12345678" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"balance": 42.5, "currency": "EUR", "due_date": "2026-08-01", "last_bill": 39.9, "vip": false}`)
	case r.Method == http.MethodPost && r.URL.Path == "/events/call-ended":
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.events = append(b.events, ev)
		b.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func (b *billing) calls() ([]string, []map[string]any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.hits...), append([]map[string]any(nil), b.events...)
}

// handlerTransport serves requests with a handler in the caller's goroutine: http
// nodes inside a synctest bubble, in virtual time.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); t.h.ServeHTTP(rec, r) }()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		<-done
		return nil, r.Context().Err()
	}
}
