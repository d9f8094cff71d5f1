// Package ivr runs call flows. A Runtime walks a flows.Flow (as the flows package
// loaded and checked it) for one call per Run: it answers (or starts early media),
// speaks prompts in the caller's language, plays WAV files, collects DTMF and speech
// with timeouts, retries and a type-ahead buffer so no digit is lost between nodes,
// evaluates expressions over typed call variables, calls web services, hands the
// call to queues and transfers, records voicemail, creates tickets, runs subflows,
// follows each node's typed outcomes, and hangs up with a disposition that call
// records and the containment figure use. flows/doc.go defines the language; this
// comment records what the runtime decides where that reference is silent.
//
// ivr defines the interfaces it consumes (interfaces.go): Channel for the call leg,
// Synthesizer for prompts, Recognizer, Classifier, SentimentAnalyzer, Queue,
// QueueInfo, Transferer, Recorder and TicketStore for the services. The sip, tts,
// asr, nlu, acd and store packages implement them and cmd/hotline wires them with
// the With… options. A node whose service is not wired takes its error outcome with
// a log line naming what is missing ("queue node: no ACD configured"); nothing is
// pretended.
//
// # Variables and expressions
//
// Each call starts with flows.Flow.NewVars: every declared and built-in variable at
// its type's zero value, language at the flow's language, and caller, called and
// call_id from the Channel. Values keep their declared types (string, float64, int,
// bool, time.Time, …): every store converts with flows.Type.Convert. now is the
// runtime's clock (WithClock) when each node starts. queue_size, queue_wait and
// agents_available ask the QueueInfo about the queue's ACD id (the environment's
// binding of the name); without a QueueInfo, or when it fails, they return 0, so a
// switch on them takes its default. Result.Vars holds the variables at the end.
//
// # Languages and voices
//
// The language variable picks each prompt's text (flows.Prompt.For, falling back to
// the flow's language) and its voice: the node's voice, else the voice of the
// language the text is in (a prompt without Mandarin text, in a Mandarin call, is
// spoken in the flow's language with that language's voice), else the flow's. A set
// node (or a menu leading to one) that changes language changes every later prompt,
// in subflows too (built-ins are shared). The runtime's own sentences (queue
// announcements, the callback offer) exist in Mandarin and English; calls in other
// languages hear English.
//
// # Prompts and SSML
//
// Text prompts are rendered from their templates at the moment they are spoken. When
// the Synthesizer implements SSMLSynthesizer and the text has markup, it gets an SSML
// document (see SSMLSynthesizer); otherwise the text with tags removed. A prompt that
// renders empty is skipped. A barge-in prompt is not played at all while digits are
// waiting, or once the caller has started speaking.
//
// # Digits
//
// Every digit the caller presses goes to a type-ahead buffer that the next node
// reading keys takes first: say, play, pause, gather, menu, survey and confirmations
// all keep digits for the next reader. A digit during a barge-in prompt stops it (the
// Play context is cancelled); without barge-in the prompt plays to its end and the
// digit still waits. A pause never stops early. Between a node's attempts the buffer
// is kept (a caller correcting a wrong key); when every attempt has failed it is
// emptied, so keys typed into a menu that rejected them neither cut the failure
// path's prompts short nor answer the next menu. A finish key pressed right after a
// full input (1234# into a 4-digit gather) belongs to that input and is dropped; a
// finish key alone is input with too few digits, a no-match. A record node empties
// the buffer before its beep, so a key that skipped the greeting does not end the
// recording.
//
// # Speech
//
// Each answer with speech input opens one Recognizer stream: before the prompt when
// barge-in is on (the caller speaking stops the prompt), else after it. The caller
// must start within the node's timeout; an answer that lasts longer than
// speech.timeout is finished early (SpeechStream.Finish) and what was heard is taken.
// With dtmf_speech a key pressed before speech starts wins and the stream is closed.
// An empty transcript is a no-match. Every transcript is stored in transcript (and
// the call's Result.Transcript) and scored for sentiment when an analyzer is wired.
// Input speech without a Recognizer is the node's error outcome; dtmf_speech without
// one takes keys only, with a warning, since its prompt offers keys too. A gather's
// speech answer is stored as the transcript; a menu matches it against its choices'
// phrases (the longest phrase held in the transcript wins; naming the key, "one" or
// "1", works too); a survey takes a number from one to five (English words, Chinese
// numerals or digits).
//
// # Confirmation
//
// A gather with confirm stores the answer, says the read-back and waits for one key
// (confirm.timeout). The yes key accepts; any other key, or none, is a no-match
// attempt and the variable gets its previous value back.
//
// # Intents
//
// An intent node classifies the transcript (or its text expression) with the
// Classifier (trained per flow when it implements FlowClassifier) in the call's
// language. The result counts when the intent is one of the node's, routed, and at or
// above the threshold: then intent and intent_confidence are set. Otherwise intent is
// emptied, intent_confidence keeps the best score, and the attempt is a no-match. A
// menu answered by speech sets transcript and sentiment, not intent.
//
// # http nodes
//
// The request goes to the endpoint's URL joined with the rendered path (or the
// rendered url), with the endpoint's headers then the node's. json bodies are sent as
// application/json, text bodies as text/plain unless a header says otherwise. Each
// attempt is bounded by the node's timeout (node, else endpoint, else flow) under the
// call's context, so a hang-up cancels it. No response, a timeout or a 5xx is retried
// retries times, waiting 250 ms, then twice as long each time up to 2 s. A 2xx is ok:
// body (JSON decoded, else text; at most 1 MiB), status and headers (lower-case names
// to comma-joined values) feed the response expressions, which are all evaluated and
// converted before any variable is set. Another status, or no response, is error;
// the last attempt timing out is timeout. http_status holds the last status (0 for
// none) in every case.
//
// # Services
//
// queue: the priority expression is clamped to 0..10; screen_pop sends the named
// variables (or environment constants). The ACD gets a QueueLeg for hold prompts,
// announcements (Mandarin for zh, else English) and the callback offer (key 1). A
// call entered a queue (transfer to a human) when it came back completed, timeout
// or callback, or the caller hung up waiting; full and closed did not enter. transfer:
// caller_id pass sends the caller's number, fixed the rendered number, withheld none.
// record: prompt (barge-in), beep (1 kHz, 400 ms), then the caller's audio until the
// finish key, max_length, end_on_silence of silence (speech judged by media/vad), or a
// hang-up, which keeps a recording that holds speech; one with nothing but silence is
// discarded (no_input). Recording needs a Channel that implements CallerAudio.
// survey: each question is asked with the node's retries; a question without a valid
// answer ends the survey with no_input, keeping earlier answers. ticket: the ticket
// holds the caller, call id, language, the call's recordings and (transcript: true)
// every transcript; with notify it is then posted as JSON to the endpoint (one retry);
// a failed notification is the error outcome with ticket_id already set, since the
// ticket exists.
//
// # Subflows
//
// A subflow runs with its own variables, sharing the built-ins both ways; args are
// converted to the child's types; returns copy the return node's values (else the
// child's variables of that name) back. A hangup in the child ends the call; a child
// that fails (an unrouted error) is the subflow node's error outcome, as is going
// deeper than flows.DefaultMaxSubflowDepth. Result.Path writes the child's nodes as
// "child:node". Only the top flow's on_hangup section runs.
//
// # Ending
//
// A hangup node ends the call with its disposition and reason. When the caller hangs
// up (the context ends) the flow stops at once with disposition abandoned and the
// runtime does not hang up itself. When the flow fails (an error outcome with no
// route, the step limit, a node whose error route leads back to itself) Run hangs up
// with disposition error. return in the top flow ends the call as unresolved. The
// step limit is the flow's max_steps, else WithMaxSteps, else DefaultMaxSteps; it
// counts every node of the call, subflows included.
//
// After any end, the flow's on_hangup section runs with disposition set, under a
// context detached from the call (context.WithoutCancel) and bounded by
// WithOnHangupTimeout, with a step budget of its own; a hangup node there only ends
// the section. Its nodes follow the call's in Result.Path.
//
// A call is contained (Result.Contained, hotline_ivr_contained_total) when it ended
// with disposition resolved without entering a queue or a successful transfer.
package ivr
