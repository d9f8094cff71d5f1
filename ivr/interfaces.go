package ivr

// The interfaces the runtime consumes. They belong here, to their consumer: the
// packages that implement them (sip, tts, asr, nlu, acd, store) import nothing of
// ivr's but these shapes, and cmd/hotline wires the concrete types with the With…
// options. A service left unconfigured (nil) makes the nodes that need it take their
// error outcome with a log line naming what is missing; the runtime never pretends a
// call was queued, transferred, recorded or ticketed.

import (
	"context"
	"errors"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
)

// Channel is what the flow runtime needs from a call leg. The SIP layer's Call
// satisfies it; tests and the terminal simulator provide their own. Capabilities
// beyond these (the caller's audio) are optional interfaces the runtime type-asserts,
// so a leg that lacks them still runs every flow that does not need them.
type Channel interface {
	ID() string
	Caller() string
	Called() string
	// Ring signals ringing (SIP 180) before the call is answered.
	Ring(ctx context.Context) error
	// EarlyMedia starts audio before answering (SIP 183 with SDP).
	EarlyMedia(ctx context.Context) error
	// Answer connects the call (SIP 200 OK, confirmed by ACK).
	Answer(ctx context.Context) error
	// SampleRate is the PCM rate prompts must have for this leg.
	SampleRate() int
	// Play sends audio to the caller and returns when it was sent or ctx ended.
	// The runtime calls it from a goroutine of its own while it reads Digits, and
	// waits for it to return before it goes on.
	Play(ctx context.Context, src media.Source) error
	// Digits delivers each DTMF digit the caller pressed, once. The runtime reads it
	// during prompts and gathers; a closed channel means no more digits will come.
	Digits() <-chan byte
	// Hangup ends the call from the engine's side.
	Hangup(ctx context.Context) error
}

// AudioSink receives audio frames: mono PCM at the rate agreed when it was created.
// WriteSample is called on the media path (a goroutine shared by many calls), so it
// must not block and must copy pcm if it keeps it: the buffer is reused.
type AudioSink interface {
	WriteSample(pcm []int16) error
}

// CallerAudio is implemented by a Channel that can hand the runtime what the caller
// says, for speech recognition and recordings: mono PCM at the channel's
// SampleRate. ListenAudio starts delivering every frame received to sink and returns
// at once; stop ends the delivery, is idempotent, and once it has returned sink is
// not called again. A Channel without it can still run speech nodes (the recognizer
// then hears nothing, unless it has its own input, as a simulator's does), but not
// record nodes.
type CallerAudio interface {
	ListenAudio(sink AudioSink) (stop func())
}

// Synthesizer renders prompt text as mono PCM at rate. The tts package's Cache is one;
// the returned slice may be shared and must not be modified.
type Synthesizer interface {
	Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error)
}

// SSMLSynthesizer is implemented by a Synthesizer that understands the SSML subset
// of flow prompts (see package flows). When SSML reports true the runtime passes a
// prompt with markup as one SSML document: text that starts with "<speak", with
// xml:lang set to the call's language and each <lang xml:lang="zh"> element holding
// a <voice name="…"> element naming the flow's voice for that language; voice is
// the prompt's voice. Plain prompts are passed as plain text, which never starts
// with "<speak" (text that would is sent as an escaped SSML document instead).
// Without it, or when SSML reports false, every prompt is plain text with its tags
// removed (flows.Template.Text).
type SSMLSynthesizer interface {
	SSML() bool
}

// Recognizer turns what the caller says into text, for gather, menu, intent and
// survey nodes with speech input. The asr package implements it; cmd/hotline wires
// it with WithRecognizer. Each answer the runtime waits for is one stream: it is
// opened before the prompt when speech may barge in (else after it), fed the
// caller's audio (when the Channel implements CallerAudio), and closed when the
// answer is taken, the caller pressed a key instead, or the node gave up.
type Recognizer interface {
	Recognize(ctx context.Context, req SpeechRequest) (SpeechStream, error)
}

// SpeechRequest describes the answer a Recognizer should listen for.
type SpeechRequest struct {
	CallID     string
	Flow, Node string
	// Language is the language code to recognize (en, zh): the node's
	// speech.language, else the call's language.
	Language   string
	SampleRate int // of the audio WriteSample receives
	// Phrases are hints: the node's speech.phrases in Language, the intents' phrases
	// when speech.intents is set, a menu's choice phrases.
	Phrases []string
	// Backend names the recognizer the node asks for (speech.backend), "" for the
	// engine's default. When Recognize fails and the node names a fallback_backend,
	// the runtime calls Recognize again with Backend set to it (and Fallback "").
	Backend string
	// Fallback names the recognizer asked when Backend fails during the answer or
	// has no final result within LatencyBudget of the end of speech
	// (speech.fallback_backend); "" for the engine's configured fallback, if any.
	Fallback string
	// LatencyBudget is speech.latency_budget, 0 for the engine's default.
	LatencyBudget time.Duration
	// MinSpeech is how long the caller must speak before SpeechStarted (which stops
	// a barge-in prompt): speech.min_speech, 0 for the VAD's default.
	MinSpeech time.Duration
	// MaxDuration is the longest answer (speech.timeout): the runtime calls Finish
	// when speech has lasted this long without a final result.
	MaxDuration time.Duration
}

// SpeechStream is one answer being recognized.
type SpeechStream interface {
	// WriteSample feeds the caller's audio (see AudioSink: it must not block).
	AudioSink
	// Events delivers what the recognizer hears: SpeechStarted once the caller starts
	// talking (it stops a barge-in prompt and the no-input timer), any SpeechPartial,
	// then one SpeechFinal (or SpeechError), after which the channel is closed.
	Events() <-chan SpeechEvent
	// Finish says no more audio will come: the stream delivers SpeechFinal for what it
	// heard so far (empty text if nothing) and closes Events. The runtime calls it
	// when the answer has lasted SpeechRequest.MaxDuration.
	Finish()
	// Close releases the stream; it is idempotent and may be called at any time, also
	// before the final result. Events is not read after Close.
	Close() error
}

// SpeechEventType says what a SpeechEvent reports.
type SpeechEventType int

// The speech event types; the zero value is SpeechUnknown, never sent.
const (
	SpeechUnknown SpeechEventType = iota
	SpeechStarted                 // the caller started talking
	SpeechPartial                 // an interim transcript (Text)
	SpeechFinal                   // the answer: Text ("" when nothing was understood), Confidence
	SpeechError                   // recognition failed (Err); the node takes its error outcome
)

// SpeechEvent is one event of a SpeechStream.
type SpeechEvent struct {
	Type       SpeechEventType
	Text       string
	Confidence float64 // 0 to 1, of a SpeechFinal
	Err        error   // of a SpeechError
}

// Classifier finds which of a flow's intents a text expresses, for intent nodes.
// The nlu package implements it. intent is the name of one of the flow's intents (or
// "" when none fits) and confidence its score from 0 to 1; the runtime compares it
// with the node's threshold and its intents.
type Classifier interface {
	Classify(ctx context.Context, text, lang string) (intent string, confidence float64, err error)
}

// FlowClassifier may be implemented by a Classifier that must be trained on each
// flow's intents and phrases: the runtime calls ForFlow once per loaded flow (per
// *flows.Flow, so a reload retrains) and uses the Classifier it returns for that
// flow's intent nodes.
type FlowClassifier interface {
	ForFlow(f *flows.Flow) (Classifier, error)
}

// SentimentAnalyzer scores the caller's speech from -1 (negative) to 1 (positive),
// for the sentiment variable. The runtime scores every transcript it receives (gather,
// menu, intent and survey speech). Wire it with WithSentiment; a Classifier that
// implements it is used when none is wired. Without one sentiment stays 0.
type SentimentAnalyzer interface {
	Sentiment(ctx context.Context, text, lang string) (float64, error)
}

// QueueInfo reports the live figures of an ACD queue, for the flow functions
// queue_size, queue_wait and agents_available. queue is the ACD's queue id (the
// environment's queues.<name>.id). A Queue that implements it is used when
// WithQueueInfo wires none; without either the functions return 0.
type QueueInfo interface {
	QueueStatus(ctx context.Context, queue string) (QueueStatus, error)
}

// QueueStatus is the state of one queue now.
type QueueStatus struct {
	Waiting         int           // callers waiting (queue_size)
	ExpectedWait    time.Duration // for a caller entering now (queue_wait, whole seconds)
	AgentsAvailable int           // agents ready for a call of the queue (agents_available)
}

// Queue hands calls to human agents: the acd package implements it. Enqueue returns
// when the call left the queue: the agent's call ended with the caller still on the
// line (completed), the queue refused it (full, closed), the wait ran out (timeout,
// after req.Timeout) or the caller took a callback (callback). While it runs the ACD
// owns the call leg (req.Leg): it plays hold audio and announcements through it,
// bridges it to the agent, and reads its digits.
type Queue interface {
	Enqueue(ctx context.Context, req QueueRequest) (QueueResult, error)
}

// QueueRequest is one call entering a queue, from a queue node.
type QueueRequest struct {
	Queue    string // the ACD's queue id (environment queues.<name>.id)
	Name     string // the queue's name in the flow and environment
	CallID   string
	Caller   string
	Called   string
	Flow     string
	Language string         // the call's language, for the agent and announcements
	Priority int            // 0 to 10, higher first
	Skills   map[string]int // skill to lowest level (1 to 5)
	// AnnouncePosition and AnnounceWait: the ACD calls Leg.Announce when position or
	// expected wait change enough to tell the caller.
	AnnouncePosition, AnnounceWait bool
	// Callback: offer a callback (Leg.OfferCallback) at once, or after CallbackAfter.
	Callback      bool
	CallbackAfter time.Duration
	Timeout       time.Duration  // the longest wait before timeout
	ScreenPop     map[string]any // variables shown to the agent
	Leg           QueueLeg
}

// QueueLeg is the caller's side of a queued call, lent to the ACD while Enqueue runs.
// The ACD may call its methods from any goroutine, but one at a time, and never after
// Enqueue has returned.
type QueueLeg interface {
	// Channel is the call leg, to bridge to the agent.
	Channel() Channel
	// Hold plays the node's hold_prompt once, in the call's language, and returns when
	// it ends or ctx ends; ErrNoHoldPrompt when the node has none (play the ACD's
	// music instead).
	Hold(ctx context.Context) error
	// Announce tells the caller their position and expected wait, in the call's
	// language, as far as the node's announce_position and announce_wait allow;
	// position 0 or wait 0 leaves that part out.
	Announce(ctx context.Context, position int, wait time.Duration) error
	// OfferCallback offers a callback ("press 1") and reports whether the caller took
	// it within the node's gather timeout.
	OfferCallback(ctx context.Context) (bool, error)
}

// ErrNoHoldPrompt is returned by QueueLeg.Hold when the queue node has no hold_prompt.
var ErrNoHoldPrompt = errors.New("ivr: the queue node has no hold prompt")

// QueueResult is how a call left a queue.
type QueueResult struct {
	// Outcome is flows.OutcomeCompleted, OutcomeFull, OutcomeTimeout, OutcomeClosed or
	// OutcomeCallback; anything else is the node's error outcome.
	Outcome flows.Outcome
	Agent   string        // the agent who answered, if any
	Waited  time.Duration // time spent waiting
	Talked  time.Duration // time connected to the agent (completed)
}

// Transferer sends a call to another party: sip implements it (REFER for blind,
// a new leg through a trunk bridged to this one for bridge). Transfer returns
// flows.OutcomeOK (blind: the REFER was accepted; bridge: the bridged call ended with
// the caller still on the line), OutcomeBusy, OutcomeNoAnswer (req.Timeout passed) or
// OutcomeFailed; an error is the node's error outcome.
type Transferer interface {
	Transfer(ctx context.Context, ch Channel, req TransferRequest) (flows.Outcome, error)
}

// TransferRequest is one transfer node's target and policy.
type TransferRequest struct {
	CallID string
	To     string // a number (+15550100) or a sip: URI, rendered
	Trunk  string // the environment's trunk name; "" for a URI without trunk
	Mode   string // flows.TransferBlind or flows.TransferBridge
	// CallerIDPolicy is flows.CallerIDPass, CallerIDFixed or CallerIDWithheld, and
	// CallerID the number the target is shown (the caller's, the fixed number, or ""
	// when withheld: send it with RFC 3323 privacy).
	CallerIDPolicy string
	CallerID       string
	Timeout        time.Duration // bridge: how long to ring
}

// Recorder stores recordings (voicemail): the media or store package implements it.
// The runtime runs the record node (prompt, beep, finish key, maximum length, end on
// silence, the caller hanging up) and feeds the Recording the caller's audio.
type Recorder interface {
	StartRecording(ctx context.Context, req RecordingRequest) (Recording, error)
}

// RecordingRequest describes a recording about to start.
type RecordingRequest struct {
	CallID, Caller, Flow, Node string
	SampleRate                 int           // of the audio WriteSample receives
	MaxLength                  time.Duration // the runtime stops feeding it after this
}

// Recording is one recording in progress.
type Recording interface {
	// WriteSample stores the caller's audio (see AudioSink: it must not block).
	AudioSink
	// Finish completes and stores the recording and returns its reference (an id or
	// URL) for the call record. It is called under a context that survives the caller
	// hanging up: a voicemail cut by a hang-up is kept.
	Finish(ctx context.Context) (ref string, err error)
	// Discard drops the recording: it held nothing but silence.
	Discard(ctx context.Context) error
}

// TicketStore creates work tickets for ticket nodes: the store package implements
// it and serves them by the API.
type TicketStore interface {
	CreateTicket(ctx context.Context, t Ticket) (id string, err error)
}

// Ticket is a ticket a flow creates.
type Ticket struct {
	Category string
	Priority string // flows.TicketLow, TicketNormal, TicketHigh or TicketUrgent
	Summary  string
	Fields   map[string]any
	// Transcript lists what the caller said during the call, one answer a line, when
	// the node attaches it.
	Transcript []string
	CallID     string
	Caller     string
	Called     string
	Flow       string
	Language   string
	Recordings []string // the call's recordings so far
	Created    time.Time
}
