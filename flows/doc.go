// Package flows loads call flow files: YAML documents in which contact-center
// engineers describe what the engine does with a call. It parses them with positions,
// checks every rule below, compiles their expressions, and hands the runtime (package
// ivr) a Flow it can walk without further checks. This comment is the reference for
// the file format; hotline.yaml (the default flow) and telecom.yaml (every feature,
// in English and Mandarin, with env.yaml) in this directory are the samples.
//
// # A flow file
//
// A flow file is UTF-8 YAML holding one mapping (one YAML document, one flow):
//
//	name: hotline                 # required
//	language: en
//	languages: {en: {voice: en-us}, zh: {voice: cmn}}
//	start: welcome                # required
//	defaults: {error: apology}
//	variables: {account: string, balance: number}
//	nodes:                        # required
//	  welcome:
//	    say: {en: Thank you for calling., zh: 感谢您的来电。}
//	    next: main_menu
//	  main_menu:
//	    menu:
//	      prompt: For billing, press 1. For an agent, press 0.
//	      choices: {"1": billing, "0": agent}
//	    on: {no_input: goodbye, no_match: goodbye}
//	  ...
//
// The top-level keys, all others being errors:
//
//   - name: the flow's name, unique among the flows the engine loads; call records,
//     logs and subflow nodes use it. Required; only a-z, 0-9, _ and -.
//   - description: free text for people.
//   - voice: the default text-to-speech voice, an espeak-ng voice name such as en-us
//     (letters, digits and _ . + / -); default: the voice of the flow's language,
//     else the synthesizer's default.
//   - language: the flow's language code (en, zh, pt-BR): every prompt needs text in
//     it, and each call's language variable starts with it. Default: the first key
//     of languages, else en.
//   - languages: the languages the flow speaks, code to {voice}: the voice for
//     prompts in that language (espeak-ng speaks Mandarin as cmn). A language used in
//     a prompt, phrase list or SSML lang element must be declared here.
//   - early_media: false (the default) answers the call (200 OK) before the first
//     node. true sends 183 Session Progress with early media instead, so prompts play
//     before the call is answered (and billed); the call is answered at an answer node
//     or when the flow first needs input.
//   - start: the name of the node calls start at. Required.
//   - on_hangup: the first node of the section that runs once the call has ended
//     (see "The on_hangup section").
//   - max_steps: the most nodes one call may run, 1 to 100000; default: the engine's
//     (500). A call that reaches it ends with disposition error: a loop guard.
//   - timeouts: flow-level timeouts (see "Timeouts").
//   - variables: the flow's variables, name to type (see "Expressions").
//   - prompts: named prompts, name to prompt (see "Prompts and languages").
//   - intents: what callers may want, name ([a-z_][a-z0-9_]*) to {phrases,
//     description}: example phrases, a list in the flow's language or a mapping
//     from language to list. An intent needs phrases in the flow's language; one
//     phrase may not belong to two intents.
//   - defaults: a mapping from outcome to node name: the route of that outcome for
//     every node that can produce it and does not route it itself. A flow usually
//     routes error here once, to an apology.
//   - nodes: a mapping from node name to node, in any order. Required, not empty.
//
// Node names start with a letter, digit or _ and contain only letters, digits,
// _, - and . (main_menu, billing-2).
//
// # Nodes, outcomes and routes
//
// A node is a mapping with exactly one action key, which names its type and holds
// its fields, and any of these routing keys:
//
//   - next: the node to go to after the ok outcome.
//   - on: a mapping from the node's other outcomes to node names.
//   - branch: gather: collected digits to node; intent: intent name to node.
//   - description: free text for people.
//
// Actions with a main field also accept a scalar for it: "say: Hello" is
// "say: {text: Hello}", "queue: care" is "queue: {name: care}". An empty action
// ("hangup:") takes all defaults.
//
// A node finishes with an outcome; the call continues at the node that outcome is
// routed to: the node's own route (next for ok, on.<outcome> for the others) or else
// the flow's defaults entry. Every outcome a node's type can produce must be routed
// one of these ways, so the author decides every path; routing an outcome the type
// lacks, ok through on.ok, or next on a type without ok is an error. Menus route by
// their choices, switches by their cases, gotos by their target; hangup and return
// end the call or subflow.
//
// # Prompts and languages
//
// Wherever a node speaks (say.text, gather.prompt, menu.prompt, confirm.prompt,
// no_input_prompt, no_match_prompt, record.prompt, survey questions,
// queue.hold_prompt) a prompt is one of:
//
//	prompt: Thank you for calling.                       # text in the flow's language
//	prompt: {en: Thank you., zh: 谢谢。}                  # text per language
//	prompt: {en: Hold on., zh: {file: audio/zh/hold.wav}} # a language may be a file
//	prompt: {file: audio/hold.wav}                       # a .wav file, the flow's language
//	prompt: {prompt: greeting}                           # a prompt of the prompts section
//
// The prompts section holds named prompts in the first four forms. A say node takes
// language keys directly (say: {en: Hi., zh: 你好。}) and a named prompt by its
// prompt field (say: {prompt: greeting}). Every prompt has text (or a file) in the
// flow's language; at run time the runtime picks the call's language (the language
// variable, which a set node or a menu choice can change) and falls back to the
// flow's language. The voice is the node's voice if it sets one, else the language's
// voice, else the flow's.
//
// Text may interpolate expressions, {{ balance }}, and use this SSML subset (SSML 1.1):
//
//   - <break time="500ms"/> (at most 10s) or <break strength="none|x-weak|weak|medium|strong|x-strong"/>
//   - <say-as interpret-as="digits|characters|date|time|currency|telephone|cardinal|ordinal"
//     format="…">text</say-as>; format for date is mdy, dmy, ymd, md, dm, ym, my, d,
//     m or y, for time hms12 or hms24. It holds text only.
//   - <lang xml:lang="zh">…</lang> (a declared language), <voice name="cmn">…</voice>
//   - <prosody rate="x-slow|slow|medium|fast|x-fast|default|90%"
//     volume="silent|x-soft|soft|medium|loud|x-loud|default|+6dB">…</prosody>
//   - <p>…</p> and <s>…</s> (no p inside s, no s inside s)
//
// Elements must nest and close; unknown elements and attributes are errors; {{ }}
// cannot be used inside a tag. A < that starts no element is an error (write &lt;);
// & is literal unless it starts &amp; &lt; &gt; &quot; &apos; or &#N;. Interpolated
// values are escaped, so a value holding < or & cannot break the markup.
//
// # Expressions
//
// Conditions (switch.when), values (set, http.json, http.response, ticket.fields,
// subflow.args, return.values, queue.priority, intent.text) and {{ }} interpolations
// are expr-lang expressions (https://expr-lang.org): balance > 10 && vip,
// queue_wait("care") > 120, len(account) == 8 ? "ok" : "short", body.items[0].price.
// YAML needs quotes around an expression holding a string literal:
// set: {language: '"zh"'}. Expressions are compiled when the flow loads and
// type-checked against the names below; an unknown name or a type error is a load
// error at its place in the file.
//
// Variables are declared with a type: string, number (float), int, bool, time,
// duration, list, map or any. gather.var, menu.var and record.var declare a string
// variable, survey question vars an int one, when the flow does not declare them.
// Built-in variables: caller, called, call_id, now (time), disposition (read-only:
// the runtime sets them), digits, language, intent, intent_confidence (number),
// sentiment (number, -1 negative to 1 positive), transcript, http_status (int),
// ticket_id, survey_score (int) and recording. The environment's vars are constants.
// The runtime provides queue_size(queue) int, queue_wait(queue) int (expected wait,
// seconds) and agents_available(queue) int; a queue named by a literal must be bound
// by the environment. A variable never set has its type's zero value.
//
// # Timeouts
//
// Waits inherit engine → flow → node: the engine's defaults (WithTimeouts, else
// DefaultTimeouts), overridden by the flow's timeouts, overridden by the node's own
// field. The flow's keys and their defaults: gather 5s (first key or start of
// speech: gather, menu, intent, survey), inter_digit 3s, speech 8s (longest answer),
// http 5s (per attempt; an environment endpoint's timeout comes between flow and
// node), transfer 30s (ring time), queue 10m (longest wait), record 2m (longest
// recording).
//
// # say: speak text
//
//	say: Thank you for calling.
//	say: {en: "Your balance is {{ balance }}.", zh: "您的余额是{{ balance }}。", barge_in: false}
//	say: {prompt: greeting}
//
// Fields: text (a prompt; required unless prompt), prompt (a named prompt), voice,
// barge_in (a key press stops it; default true). Outcomes: ok, error.
//
// # play: play an audio file
//
//	play: sounds/welcome.wav
//
// Fields: file (a .wav file, relative to the flow file or the environment's
// prompts_dir; for a flow loaded from a file system, a path in it; it must exist),
// barge_in (default true). Outcomes: ok, error.
//
// # gather: prompt and collect digits or speech
//
//	gather:
//	  prompt: Enter your account number, then press the hash key.
//	  min_digits: 6
//	  max_digits: 10
//	  var: account
//	  confirm: {prompt: "You entered {{ account }}. Press 1 if correct, 2 to try again."}
//	next: lookup
//	on: {no_input: agent, no_match: agent}
//
// Each attempt says the prompt, then waits timeout for the first key and
// inter_digit_timeout for each next one. Input ends at max_digits keys, at
// finish_key (not part of the input) or when a wait runs out. No key is a no-input;
// fewer than min_digits keys, or with branch a value that is not a key, a no-match.
// After a failed attempt the gather says no_input_prompt or no_match_prompt and
// tries again, retries more times; the last failure is the outcome. Keys typed
// during a prompt or between nodes are kept for the next gather (type-ahead).
// Fields, all optional:
//
//   - prompt, no_input_prompt, no_match_prompt: prompts; play: a .wav file instead
//     of prompt (use one).
//   - min_digits (default 1), max_digits (default 1, at most 64).
//   - finish_key: 0-9, * or #, "" for none; default "#" when max_digits > 1. Quote
//     it: a bare # starts a YAML comment.
//   - timeout (default timeouts.gather), inter_digit_timeout (timeouts.inter_digit).
//   - retries: 0 to 10, default 1. var: default digits. voice; barge_in (default true).
//   - input: dtmf (default), speech or dtmf_speech. With speech, the transcript is
//     the input (stored in var and transcript, with sentiment set).
//   - speech: phrases (hints: a list, or language to list), intents (true: add the
//     intents' phrases as hints), backend and fallback_backend (recognizer names the
//     engine configures; the fallback is asked when backend fails or has no answer
//     latency_budget, 10ms to 10s, after the end of speech), language (default: the
//     call's), timeout (timeouts.speech), min_speech (0 to 2s, default the VAD's
//     60ms: how long the caller must speak before it stops a barge-in prompt; 200-400ms
//     on noisy lines). Only with speech input.
//   - confirm: prompt (required; a read-back, usually with {{ }}), yes (default "1"),
//     no (default "2"), timeout (default the gather's). yes accepts the input; any
//     other answer counts as a no-match attempt.
//
// Outcomes: ok, no_input, no_match, error. With branch (keypad keys from min_digits
// to max_digits long, without the finish key; input dtmf only) input is routed by
// value and there is no ok outcome: branch: {"1": billing, "*": main_menu}.
//
// # menu: a gather with a branch, written compactly
//
//	menu:
//	  prompt: For billing, press 1 or say billing.
//	  input: dtmf_speech
//	  choices:
//	    "1": {next: billing, phrases: {en: [billing, bill], zh: [账单]}}
//	    "0": agent
//	on: {no_input: agent, no_match: agent}
//
// Fields: prompt (required), choices (required: one key 0-9, * or # to a node name,
// or to {next, phrases}; phrases need speech input, and with input speech every
// choice needs them), input, speech, voice, barge_in, timeout, retries (default 1),
// no_input_prompt, no_match_prompt, var (the chosen key; default digits). Outcomes:
// no_input, no_match, error; a choice routes itself.
//
// # intent: recognize what the caller wants
//
//	intent:
//	  prompt: In a few words, why are you calling?
//	  threshold: 0.6
//	branch: {refund: refunds, complaint: complaints}
//	on: {no_input: agent, no_match: agent}
//
// Listens (or, with text, classifies the value of an expression such as transcript)
// and picks the best of intents (default: the branch keys) by the flow's phrases.
// Below threshold (0 to 1, default 0.5) it is a no-match; silence (or empty text) a
// no-input. It sets intent, intent_confidence, transcript and sentiment. Fields:
// prompt, text, intents, threshold, speech, voice, barge_in, timeout, retries,
// no_input_prompt, no_match_prompt (not with text). Every intent of the node needs a
// branch. Outcomes: no_input, no_match, error.
//
// # set: assign variables
//
//	set: {language: '"zh"', balance: balance - 10}
//
// A mapping from variable to expression, applied in order. The variable must be
// declared (or a writable built-in) and the value of its type. Outcomes: ok, error
// (a value of type any that does not convert).
//
// # switch: route by conditions
//
//	switch:
//	  - when: sentiment < -0.4
//	    next: complaints
//	  - when: queue_wait("care") > 180
//	    next: callback_offer
//	  - default: care_queue
//
// The first case whose bool condition holds routes; the last item must be
// {default: node}. Outcomes: error (an expression failed at run time).
//
// # http: call a web service
//
//	http:
//	  endpoint: billing                   # bound by the environment
//	  path: /accounts/{{ account }}
//	  response: {balance: body.balance, vip: "body.vip ?? false"}
//	next: say_balance
//	on: {error: billing_down, timeout: billing_down}
//
// Fields: endpoint (an environment name) or url (a full http(s) URL); path
// (appended to the endpoint's URL); method (GET, POST, PUT, PATCH, DELETE; default
// GET, or POST with a body); headers (after the endpoint's); body (text) or json
// (field to expression: a JSON object); timeout (per attempt); retries (0 to 5,
// after no response, a timeout or a 5xx); response (variable to expression over
// body, the JSON-decoded response or its text, status and headers; applied on ok).
// Templates allowed in url, path, headers and body. http_status is set to the last
// status (0 for none). Outcomes: ok (2xx), error (another status, or no response),
// timeout (the last attempt timed out).
//
// # hours: open, closed or holiday
//
//	hours: main                           # a calendar of the environment
//	hours: {timezone: Asia/Shanghai, weekly: {mon-fri: "09:00-18:00", sat: closed}, holidays: ["10-01"]}
//
// Fields: calendar, or an inline calendar: timezone (IANA), weekly (days: mon,
// mon-fri, sat,sun or daily; to hours: "08:00-12:00,14:00-20:00" or closed; days
// not listed are closed; a range ends by 24:00), holidays (YYYY-MM-DD, or MM-DD every
// year). Judged on the calendar's wall clock at the time the node runs. Outcomes:
// open, closed, holiday.
//
// # queue: hand the call to agents
//
//	queue:
//	  name: complaints                    # bound by the environment
//	  priority: "vip ? 9 : 5"
//	  skills: {complaints: 3}
//	  announce_position: true
//	  callback: true
//	  screen_pop: [account, transcript]
//	on: {completed: survey, full: voicemail, timeout: voicemail, closed: voicemail, callback: booked, error: apology}
//
// Fields: name (required), priority (0 to 10, higher first; an int or an int
// expression; default 0), skills (skill to lowest level 1 to 5), announce_position,
// announce_wait, callback (offer a callback instead of waiting), callback_after
// (offer it after this wait; default at once), hold_prompt (default: the engine's
// music), screen_pop (variables shown to the agent), timeout (timeouts.queue), voice.
// Outcomes: completed (the agent hung up and the caller is back in the flow), full,
// timeout, closed, callback (the caller took the offer), error.
//
// # transfer: to a number or SIP URI
//
//	transfer: {to: "{{ business_line }}", trunk: carrier, mode: blind}
//
// Fields: to (required: a number such as +15550100 or a sip: URI; template), trunk
// (environment name; required for a number), mode (blind: REFER, the call leaves;
// bridge: the engine calls and bridges; default bridge), caller_id (pass, fixed with
// caller_id_number, or withheld; default pass), timeout (bridge ring time;
// timeouts.transfer). Outcomes: ok (blind: REFER accepted; bridge: the bridged call
// ended with the caller still on the line), busy, no_answer, failed, error.
//
// # record: voicemail
//
// Fields: prompt, beep (default true), max_length (timeouts.record), end_on_silence
// (default 5s), finish_key (default "#", "" for none), var (the recording's id;
// default recording), voice. The recording is stored and linked from the call
// record; a caller hanging up keeps it. Outcomes: ok, no_input (nothing but
// silence), error.
//
// # survey: satisfaction, 1 to 5
//
//	survey:
//	  questions:
//	    - prompt: How satisfied are you, from 1 to 5?
//	      var: satisfaction
//
// Fields: questions (required: prompt and var, an int variable, each), input (dtmf,
// speech or dtmf_speech: one to five), speech, voice, barge_in, timeout, retries
// (per question; default 1), no_input_prompt, no_match_prompt. Answers are stored;
// the first also in survey_score. Outcomes: ok (every question answered), no_input
// (a question got no valid answer: the answers so far are kept), error.
//
// # ticket: create a work ticket
//
//	ticket: {category: outage, priority: high, summary: "Outage at {{ postcode }}", fields: {postcode: postcode}}
//
// Fields: category (required), priority (low, normal, high, urgent; default normal),
// summary (template), fields (name to expression), transcript (attach the call's
// transcript; default true), notify (an environment http endpoint the ticket is
// posted to as JSON). The ticket holds the caller and call id too; its id goes to
// ticket_id. Outcomes: ok, error.
//
// # subflow and return: call another flow
//
//	subflow: {flow: identify, args: {tries: "3"}, returns: {account: account_id}}
//
// Runs flow (loaded with this one) on the same call from its start, with its own
// variables: args (the child's variable to an expression of this flow, type-checked
// against the child's declaration) set them; built-ins are shared. When the child
// reaches a return node ("return: {values: {account_id: pin}}"), returns copies values
// back: this flow's variable to a name the child returns (a key of its return
// values, else a variable of the child). A hangup in the child ends the call.
// Outcomes: ok, error (the child failed, or the depth limit of 8 nested subflows).
// A flow may call itself, directly or through others, only if some path from its
// start reaches a return without calling back; return in a flow not called as a
// subflow ends the call with disposition unresolved.
//
// # answer, pause, goto, hangup
//
//   - answer: (no fields) answers the call now if it is not answered yet (after
//     early media). Outcomes: ok, error.
//   - pause: 2s, or {duration: 2s}: silence; keys pressed meanwhile are kept.
//     Outcome: ok.
//   - goto: main_menu, or {target: main_menu}: continue there. No outcomes.
//   - hangup: resolved, or {disposition: transferred, reason: …}: ends the call;
//     disposition is resolved (counts as self-service containment), unresolved (the
//     default), transferred, abandoned or error. No outcomes.
//
// # The on_hangup section
//
// on_hangup names a node that runs once the call has ended, whoever ended it (the
// caller, a hangup node, a blind transfer, an error), typically to post a webhook
// with disposition and the variables. The section is every node reachable from it;
// only set, switch, http, ticket, goto and hangup may be there, which need no caller.
// Routes apply as elsewhere, defaults included, so route the section's error
// outcomes to a hangup rather than to an apology that speaks. A hangup there ends the
// section; the call's disposition is already set.
//
// # Environments
//
// Flows name http endpoints, queues, trunks and calendars; an environment file binds
// the names to one deployment's targets, so a flow runs unchanged in test and
// production. LoadDir uses env.yaml beside the flows; WithEnv gives one explicitly.
//
//	http:
//	  billing: {url: "http://127.0.0.1:8099", headers: {X-Api-Key: dev}, timeout: 3s}
//	queues:
//	  care: {id: care}                 # id: the ACD's queue id; default the name
//	trunks:
//	  carrier: {}
//	calendars:
//	  main: {timezone: Europe/Paris, weekly: {mon-fri: "08:00-20:00"}, holidays: ["12-25"]}
//	vars: {business_line: "+15550100"} # constants for expressions: text, numbers, booleans
//	prompts_dir: audio                 # relative audio paths resolve here (flows on disk)
//
// A name a flow uses that its environment does not bind is an error at its use.
//
// # Values
//
//   - Text is any scalar, written as is: "say: 42" says 42. Quote text containing
//     ": ", a trailing "?" inside {…}, or starting with a YAML indicator (#, *, &, !,
//     |, >, ', ", %, @, `).
//   - Booleans are true or false; YAML 1.1's yes, no, on and off are errors.
//   - Whole numbers are decimal; 0x and 0o prefixes mean hex and octal, and so does
//     a leading 0, as in YAML 1.1 (010 is 8).
//   - Durations are Go durations such as 500ms, 5s or 1m30s, or a bare number of
//     seconds (5, 2.5); more than 0 and at most 1h.
//   - Anchors, aliases and merge keys may share settings between nodes:
//     "gather: &menu {timeout: 8s, retries: 2}" then "gather: {<<: *menu, prompt: ...}".
//
// # Checks
//
// Loading reports every problem it finds, not just the first, sorted by position:
//
//   - YAML syntax, a file that is not UTF-8 or holds more than one document;
//   - unknown keys (with the closest known key suggested), duplicate keys, values
//     of the wrong type, out of range or not one of the allowed values, missing
//     required keys;
//   - a node with no action or two, and routing keys its type does not take;
//   - an outcome that is not routed, or routed though its type lacks it;
//   - start, on_hangup, a route, branch, choice, case, goto or defaults entry naming
//     no node, and a defaults key naming no outcome;
//   - unknown variables and type errors in expressions and {{ }}, assignments to
//     read-only or undeclared variables, a gather storing into a non-string variable;
//   - SSML that is malformed or outside the subset, a language not declared (in
//     prompts, phrases, SSML, set language), prompts without the flow's language,
//     unknown named prompts, intents without phrases in the flow's language;
//   - audio files that are missing or not .wav;
//   - queues, trunks, http endpoints and calendars the environment does not bind,
//     time zones, weekly hours and holidays that do not parse, URLs and numbers;
//   - subflows naming no flow loaded with this one, arguments and returned values
//     that do not fit the called flow, recursion without a path to return;
//   - nodes unreachable from start or on_hangup; loops without exit: nodes from
//     which no path reaches a hangup or return, where a call would spin forever;
//   - node types in the on_hangup section that need the caller.
//
// The reachability and loop checks wait until every route resolves. After 100
// problems in one file the rest are counted, not listed. Each problem reads
// "file:line:col: message", the column pointing into a string where the problem is
// inside it (an expression, a tag):
//
//	telecom.yaml:15:7: node "main_menu": unknown field "max_digit" in gather (did you mean max_digits?)
//	telecom.yaml:88:26: node "wait": switch[0].when: unknown variable "queue_wiat" (did you mean queue_wait?)
//	telecom.yaml:28:3: node "billing": outcome ok is not routed (add next)
//
// YAML syntax errors point at the start of the offending line: the YAML parser does
// not report a column.
//
// # Loading
//
// Load reads one file, LoadFS one from a file system, LoadDir every flow file of a
// directory (all or nothing, flow names unique, subflows resolved, env.yaml as the
// environment), Parse bytes already read, and Sample the embedded hotline.yaml;
// options: WithEnv, WithTimeouts. LoadEnv, LoadEnvFS and ParseEnv read
// environments. ValidateFiles checks files together and returns every problem
// (`hotline flow validate`). Flow.Version identifies the file's exact content in
// call records. A Flow is immutable: to reload, load again and give new calls the
// new Flow while live calls finish on theirs.
//
// For the runtime, expressions are compiled (Expr: Eval, Program), texts are
// Templates (Render for SSML, Text for plain text), prompts pick a language (Prompt.For),
// names are resolved (HTTP.Target, Queue.Target, Hours.Calendar with Status,
// Transfer.TrunkTarget, Subflow.Target), timeouts are filled in, and NewVars
// returns a call's variables.
//
// # JSON Schema
//
// Schema returns schema.json, a JSON Schema (2020-12) of flow files for editor
// completion. It is generated from the registry and field tables below by
// schema_test.go, which fails when they differ.
//
// # Adding a node type
//
// A node type is a struct of its parameters with `flow:"key,options"` and `doc`
// tags, an entry in the registry in actions.go (action key, outcomes, scalar
// shorthand, defaults, check function), and a section in this comment; then
// regenerate schema.json (go test ./flows -run TestSchemaInSync -update). Decoding,
// unknown-field suggestions, enums, ranges, routing and graph checks are generic.
package flows
