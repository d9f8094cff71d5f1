// Package acd is hotline's automatic call distributor: human queues, agents with
// skills, priorities, callbacks, and the contact-center figures of
// shared/METRICS.md. The flow runtime hands a call to Enqueue (the flows queue
// node); the telephony side (SIP registrations, the WebRTC softphone) implements
// the small interfaces acd defines and registers each agent's Endpoint. acd imports
// neither: see imports_test.go.
//
// # Who implements what
//
// The telephony side implements Caller (the waiting caller's leg: Hold, Announce,
// Bridge), Leg (an agent's answered leg: Whisper, Hangup), Endpoint (how an agent
// is rung: Offer returns answered, rejected, no_answer or failed) and Dialer (places
// callbacks). It calls SetEndpoint on REGISTER and on softphone connect (nil on
// unregister). The flow runtime calls Enqueue, Status (queue_size, queue_wait,
// agents_available) and RequestCallback; the API calls AddAgent, RemoveAgent,
// SetPresence, Ready, AddQueue, Agents, Figures and Today; `hotline staffing` calls
// Staffing. The WebSocket layer receives screen-pops through WithScreenPop.
//
// # The model
//
// All shared state (agents' presence and activity, calls waiting, offers) lives
// in a Store, and every change to it is one atomic transition (store.go lists them
// and maps each to a Redis Lua script for several engine nodes). The engine keeps
// only what is local to its node: the Endpoints registered here, the waiting
// callers whose legs are here, and the Offer calls still running.
//
// One dispatcher goroutine per node decides who gets which call. After every change
// (a call joins, an agent is freed, an endpoint registers, any Store notification)
// and at every time-driven change (a ring deadline plus grace, a wrap-up end, a
// relaxation step, a callback retry) it reconciles timeouts, takes a Snapshot, runs
// the pure function plan (plan.go) and Reserves each planned offer. Planning may work
// on a stale snapshot; Reserve re-checks atomically that the call still waits in that
// queue and every agent is still idle and available, so no agent is ever offered two
// calls and no call is offered to two agents (except ring_all, by design). The
// invariant checker of the tests (invariants_test.go) verifies this after every
// single transition of the simulations, and the fake endpoints verify it at the phone.
//
// Each offer runs Endpoint.Offer on its own goroutine with the queue's ring timeout.
// Answered: Answer connects (the call leaves the Store) and the answer is handed to
// the waiting Enqueue, which whispers to the agent, stops hold music and bridges.
// Not answered: Release puts the call back in its place and the agent in missed for
// missed_pause; after auto_break_after unanswered offers in a row the agent is put
// on break (reason "missed offers"). An Endpoint that never returns is reconciled
// after ring_timeout + grace: the call waits again, the agent is missed, and a late
// answer is refused (each offer carries an id) and hung up. A node does not ring an
// agent's Endpoint again until its previous Offer has returned.
//
// A waiting caller hears hold music without a gap until the bridge (including while
// agents ring), interrupted only by announcements: position and estimated wait
// (ewt.go documents the estimator) and the callback offer. A caller who hangs up
// (Enqueue's context ends) while waiting or while an agent rings is recorded as
// ABANDON, or SHORTABANDON within short_abandon; every agent ringing for them is
// freed at once, without counting a miss.
//
// # Agents
//
// Presence is what the agent chose (available, break with a reason, offline);
// Activity is what the system sees (idle, ringing, on_call, wrap_up, missed). An
// agent is offered calls only when available and idle, and only from a node where
// their Endpoint is registered. State folds the two for wallboards and occupancy:
// the activity while busy, else the presence. After each call the agent stays in
// wrap_up for the queue's wrap_up (Ready ends it early).
//
// # Routing
//
// Calls are served by effective priority (the flow's 0 to 10, plus
// priority_per_minute × minutes since the caller first queued), then by arrival,
// then by call id, across all queues: each call, in that order, takes the best free
// agent for it. A call needs the queue's skills merged with the flow's (minimum
// levels); relaxation steps (after T: lower every level by n, drop skills) widen the
// pool as it waits, and it keeps its place meanwhile. Among eligible agents the
// queue's strategy chooses: longest_idle (default: idle since the last wrap-up or
// login), round_robin (the next agent id after the queue's last choice),
// fewest_calls (since login), best_skill_match (highest total level in the required
// skills) or ring_all (every eligible agent rings; the first to answer wins; the
// others are cancelled without a miss).
//
// A queue can refuse callers beyond max_size (full), refuse them when empty
// (join_when_empty false: closed) or send them away when it becomes empty while
// they wait (leave_when_empty: closed); empty means no eligible agent logged in
// (empty: no_agents) or none available (no_available), with every relaxation step
// applied. After max_wait a call overflows to the queue named by overflow (keeping
// its arrival time for ordering), becomes a callback (callback_on_timeout, when the
// flow allows callbacks) or times out. A caller who takes a callback leaves the line
// and keeps their place: the callback waits as an entry ordered by the original
// arrival; when an agent answers its offer the Dialer calls the customer back and
// bridges them. Pending callbacks are kept in a CallbackStore (memory or a JSON file
// rewritten atomically) and come back after a restart.
//
// The callback side may be attached after NewEngine (EnableCallbacks): the dialer
// usually needs the SIP server, which is built after the engine. Agents created,
// changed or deleted at run time (the API) are kept in an AgentFile, applied over
// the YAML seed at start.
//
// # Figures
//
// Every step is one row of the EventLog (memory or append-only JSON lines):
// ENTERQUEUE, RINGAGENT, RINGNOANSWER, CONNECT, ABANDON, SHORTABANDON, OVERFLOW,
// CALLBACKREQUESTED, CALLBACKCONNECTED, EXITTIMEOUT, COMPLETECALLER, COMPLETEAGENT,
// TRANSFER, plus AGENTSTATE, one row per change of an agent's State. The queue events
// alone cannot give occupancy (logged-in time) nor after-call work (wrap-up ends after
// COMPLETE*), so agent state changes are logged beside them, as Asterisk's queue_log
// logs PAUSE and UNPAUSE beside its call events; reports reading only the thirteen
// queue events can skip them. A transition and its rows are written in one commit,
// so the log's order is the order of the transitions.
//
// Figures follow METRICS.md exactly, per queue (occupancy engine-wide: agents serve
// several queues):
//
//	offered         ENTERQUEUE rows (a caller overflowing to another queue is offered there too)
//	answered        CONNECT rows
//	abandoned       ABANDON rows: the caller hung up while waiting, after more than T_short
//	short abandon   SHORTABANDON rows: hung up within T_short (short_abandon, 5 s; bound included)
//	flowed out      OVERFLOW (to a queue, or reason closed), CALLBACKREQUESTED, EXITTIMEOUT
//	service level   answered within T_sl (wait <= service_level, 20 s) ÷ (answered + abandoned)
//	answer rate     answered ÷ (offered − short abandons)
//	abandonment     abandoned ÷ (offered − short abandons)
//	ASA             mean CONNECT wait (queue entry to agent answer), answered calls only
//	AHT             (talk + after-call work) per handled call; hold is part of talk
//	occupancy       time on_call or wrap_up ÷ time logged in excluding breaks (AGENTSTATE)
//
// An event counts in the interval (interval, 15 min by default, aligned on local
// midnight of timezone) in which it happened; a handled call counts when its wrap-up
// ends. Callbacks connected are handled calls (AHT, occupancy) but not answered ones:
// the caller flowed out when they took the callback. A Tally computes the figures;
// the engine feeds it every row it logs (live figures, today and per interval), and
// Replay feeds it the log read back, which gives the same figures (sim_test.go checks
// it on every interval). At start the engine replays the log, so today's figures
// survive a restart. Staffing answers with Erlang C (erlang.go), matching the check
// values of METRICS.md.
//
// Prometheus: hotline_queue_waiting, hotline_queue_longest_wait_seconds,
// hotline_queue_wait_seconds, hotline_queue_service_level_ratio and
// hotline_queue_abandon_ratio (today), hotline_queue_calls_total{queue,outcome},
// hotline_queue_ring_no_answer_total, hotline_queue_event_log_errors_total and
// hotline_agents{state}; metrics.go documents them.
//
// # Several nodes
//
// Nodes share a Store (Redis) and an EventLog (SQL); each names itself (WithNode).
// An inbound call is offered only by the node holding the caller's leg; callbacks by
// any node; every node reconciles. A node's figures are its own rows; a report over
// the shared log gives the whole center's.
//
// # Lock order
//
// Written down as nats-server's locksordering.txt (and in locksordering.txt here).
// One lock may be held while others are taken, Engine.recMu, held by commit for one
// Store transition and the appending of its rows:
//
//	Engine.recMu
//	  -> Store (MemStore.mu)
//	  -> EventLog (MemLog.mu, FileLog.mu), then Tally.mu
//	  -> CallbackStore (MemCallbacks.mu, FileCallbacks.mu), Engine.pending.mu
//	  -> Engine.mu
//
// Every other lock is a leaf: held for a few lines, with no other lock taken and no
// call out (Engine.mu, Engine.pending.mu, media.mu, Tally.mu, AgentFile.mu and the
// stores' and logs' own). recMu is never taken while holding any of them. No lock is held while
// calling the telephony side (Endpoint, Caller, Leg, Dialer) or the screen-pop
// callback, so a slow phone or a slow WebSocket never stalls the dispatcher.
package acd
