// Package flows loads call flow files: YAML documents in which contact-center
// engineers describe what the engine does with a call. It parses them with positions,
// checks every rule below, and hands the runtime (package ivr) a Flow it can walk
// without further checks. This comment is the reference for the file format
// (version 1); hotline.yaml in this directory is the sample that ships with the
// engine.
//
// # A flow file
//
// A flow file is UTF-8 YAML holding one mapping (one YAML document, one flow):
//
//	name: hotline                 # required
//	description: Example Telecom customer hotline.
//	voice: en-us
//	early_media: false
//	start: welcome                # required
//	defaults:
//	  error: apology
//	nodes:                        # required
//	  welcome:
//	    say: Thank you for calling Example Telecom.
//	    next: main_menu
//	  main_menu:
//	    gather:
//	      prompt: For billing, press 1. For support, press 2.
//	    branch:
//	      "1": billing
//	      "2": support
//	    on:
//	      no_input: goodbye
//	      no_match: goodbye
//	  ...
//
// The top-level keys, all others being errors:
//
//   - name: the flow's name, unique among the flows the engine loads; call records
//     and logs use it. Required; only a-z, 0-9, _ and -.
//   - description: free text for people.
//   - voice: the default text-to-speech voice of say and gather nodes that set
//     none, an espeak-ng voice name such as en-us or en-gb-x-rp (letters, digits
//     and _ . + / -). Empty: the synthesizer's default voice.
//   - early_media: false (the default) answers the call (200 OK) before the first
//     node. true sends 183 Session Progress with early media instead, so prompts play
//     before the call is answered (and billed); the call is answered when the flow
//     first needs caller input (a gather node) or at an answer node, a node type of a
//     later version.
//   - start: the name of the node the call starts at. Required.
//   - defaults: a mapping from outcome to node name: the route of that outcome for
//     every node that can produce it and does not route it itself. A flow usually
//     routes error here once, to an apology.
//   - nodes: a mapping from node name to node, in any order. Required, not empty.
//
// Node names start with a letter, digit or _ and contain only letters, digits,
// _, - and . (main_menu, billing-2).
//
// # Nodes
//
// A node is a mapping with exactly one action key, which names the node's type and
// holds its parameters, and any of these routing keys:
//
//   - next: the node to go to after the ok outcome.
//   - on: a mapping from the node's other outcomes to node names.
//   - branch: gather only: a mapping from collected digits to node names.
//   - description: free text for people.
//
// Every action accepts a mapping of its fields. Actions with a main field also accept
// a scalar as shorthand for it: "say: Hello" is "say: {text: Hello}", "goto: menu"
// is "goto: {target: menu}". An empty action ("hangup:") takes all defaults.
//
// # Outcomes and routes
//
// A node finishes with an outcome: ok, error, no_input or no_match, depending on its
// type. The call continues at the node that outcome is routed to: the node's own
// route (next for ok, on.<outcome> for the others) or else the flow's defaults entry.
// Every outcome a node's type can produce must be routed one of these two ways, so
// the author decides every path. Routing an outcome the type does not produce, or
// ok through on.ok rather than next, is an error. Goto and hangup nodes have no
// outcomes and take neither next nor on.
//
// # say: speak text
//
//	say: Thank you for calling.
//	say: {text: Thank you for calling., voice: en-gb, barge_in: false}
//
// Fields:
//
//   - text: what to say. Required.
//   - voice: the voice for this node; default: the flow's voice.
//   - barge_in: whether a caller's key press stops the prompt; default true.
//
// Outcomes: ok (said), error (the synthesizer or media failed).
//
// # play: play an audio file
//
//	play: sounds/welcome.wav
//	play: {file: sounds/welcome.wav, barge_in: false}
//
// Fields:
//
//   - file: a .wav file, relative to the flow file's directory or absolute. It must
//     exist when the flow is loaded. For a flow loaded from a file system (LoadFS,
//     Sample) it is looked up in that file system and must be relative. Required.
//   - barge_in: whether a caller's key press stops the file; default true.
//
// Outcomes: ok (played), error (the file or media failed).
//
// # gather: prompt and collect digits
//
//	gather:
//	  prompt: Enter your 6-digit account number, then press the hash key.
//	  min_digits: 6
//	  max_digits: 6
//	  no_input_prompt: Sorry, I did not hear anything.
//	  var: account
//	next: lookup
//	on: {no_input: agent, no_match: agent}
//
// Each attempt says the prompt (or plays the play file), then waits timeout for the
// first key and inter_digit_timeout for each next one. Input ends at max_digits keys,
// at finish_key (which is not part of the input) or when a wait runs out. No key at
// all is a no-input; fewer than min_digits keys, or with branch a value that is not a
// branch key, is a no-match. After a failed attempt the gather says no_input_prompt
// or no_match_prompt (if set) and tries again, up to retries more times; the last
// failure becomes the outcome. Fields, all optional:
//
//   - prompt: text to say before waiting.
//   - play: a .wav file to play instead of prompt (checked like play.file); use one.
//   - voice: the voice for prompt, no_input_prompt and no_match_prompt; default: the
//     flow's voice.
//   - min_digits: the fewest keys that make valid input; default 1, at most
//     max_digits.
//   - max_digits: input ends when this many keys are pressed; default 1, from 1 to 64.
//   - finish_key: the key that ends input early, one of 0-9, * and #, or "" for none;
//     default "#" when max_digits is more than 1, else none. Quote it: a bare # starts
//     a YAML comment, so "finish_key: #" is an error.
//   - timeout: the wait for the first key; default 5s.
//   - inter_digit_timeout: the wait for each next key; default 3s.
//   - retries: attempts after the first, from 0 to 10; default 1 (two attempts).
//   - no_input_prompt, no_match_prompt: text said before a retry.
//   - var: the call variable the input is stored in, [a-z_][a-z0-9_]*; default digits.
//   - barge_in: whether a key pressed during a prompt stops it and counts as input;
//     default true.
//
// Outcomes: ok (valid input; routed by next), no_input, no_match, error. With branch,
// input is routed by its value and there is no ok outcome (and no next):
//
//	branch:
//	  "1": billing
//	  "2": support
//	  "*": main_menu
//
// Branch keys are keypad strings (0-9, *, #, A-D) from min_digits to max_digits long
// that do not contain finish_key. Quote them: "1" and 1 are the same key, but bare *
// and # are YAML syntax.
//
// # goto: continue at another node
//
//	goto: main_menu
//
// Fields:
//
//   - target: the node to continue at. Required.
//
// No outcomes: the target is the route.
//
// # hangup: end the call
//
//	hangup: resolved
//	hangup: {disposition: transferred, reason: sent to the partner hotline}
//	hangup:
//
// Fields:
//
//   - disposition: how the call ended, for call records and reports: resolved,
//     unresolved, transferred, abandoned or error; default unresolved.
//   - reason: free text for the call record.
//
// No outcomes.
//
// # Values
//
//   - Text is any scalar, written as is: "say: 42" says 42. Quote text containing
//     ": " or starting with a YAML indicator (#, *, &, !, |, >, ', ", %, @, `).
//   - Booleans are true or false. YAML 1.1's yes, no, on and off are errors, not
//     booleans.
//   - Whole numbers are decimal; 0x and 0o prefixes mean hex and octal, and so
//     does a leading 0, as in YAML 1.1 (010 is 8).
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
//     of the wrong type or out of range, missing required keys;
//   - a node with no action or two, and routing keys its type does not take;
//   - an outcome that is not routed, or routed though its type lacks it;
//   - start, a route, a branch, a goto or a defaults entry naming no node, and a
//     defaults key naming no outcome;
//   - audio files that are missing or not .wav;
//   - nodes unreachable from start, following routes, branches, gotos and the
//     defaults nodes use;
//   - loops without exit: nodes from which no path reaches a hangup, where a call
//     would spin forever (a goto cycle).
//
// The reachability and loop checks wait until every route resolves: with a broken
// route they would mostly repeat it. After 100 problems in one file the rest are
// counted, not listed. Each problem reads "file:line:col: message":
//
//	hotline.yaml:15:7: node "main_menu": unknown field "max_digit" in gather (did you mean max_digits?)
//	hotline.yaml:16:16: node "main_menu": gather.timeout must be a duration such as 5s, 500ms or 1m30s, or a number of seconds, got "5 sec"
//	hotline.yaml:28:3: node "billing": outcome ok is not routed (add next)
//
// YAML syntax errors point at the start of the offending line: the YAML parser does
// not report a column.
//
// # Loading
//
// Load reads one file from disk, LoadFS one from a file system, LoadDir every flow
// file of a directory (all or nothing, with flow names unique), Parse bytes already
// read, and Sample the embedded sample (Samples). Flow.Version identifies the file's
// exact content in call records. A Flow is immutable: to reload, load again and give
// new calls the new Flow while live calls finish on theirs.
//
// # Adding a node type
//
// A node type is a struct of its parameters with `flow:"key"` tags (types string,
// bool, int, time.Duration), an entry in the registry in actions.go (action key,
// outcomes, scalar shorthand, defaults, check function), and a section in this
// comment. Decoding, unknown-field suggestions, routing and graph checks are generic.
package flows
