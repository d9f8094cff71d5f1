-- Call records and their timelines. Times are unix microseconds (UTC), durations
-- whole milliseconds, lists JSON arrays, vars a JSON object.
CREATE TABLE calls (
    id                TEXT    PRIMARY KEY,
    node              TEXT    NOT NULL DEFAULT '',
    state             TEXT    NOT NULL CHECK (state IN ('active', 'ended')),
    started_at        INTEGER NOT NULL,
    answered_at       INTEGER,
    ended_at          INTEGER,
    direction         TEXT    NOT NULL DEFAULT '',
    caller            TEXT    NOT NULL DEFAULT '',
    called            TEXT    NOT NULL DEFAULT '',
    trunk             TEXT    NOT NULL DEFAULT '',
    transport         TEXT    NOT NULL DEFAULT '',
    codec             TEXT    NOT NULL DEFAULT '',
    flow              TEXT    NOT NULL DEFAULT '',
    flow_version      TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    node_path         TEXT    NOT NULL DEFAULT '[]',
    intent            TEXT    NOT NULL DEFAULT '',
    intent_confidence REAL    NOT NULL DEFAULT 0,
    sentiment         REAL    NOT NULL DEFAULT 0,
    disposition       TEXT    NOT NULL DEFAULT '',
    contained         INTEGER NOT NULL DEFAULT 0,
    queue             TEXT    NOT NULL DEFAULT '',
    agent             TEXT    NOT NULL DEFAULT '',
    wait_ms           INTEGER NOT NULL DEFAULT 0,
    talk_ms           INTEGER NOT NULL DEFAULT 0,
    hold_ms           INTEGER NOT NULL DEFAULT 0,
    wrapup_ms         INTEGER NOT NULL DEFAULT 0,
    recordings        TEXT    NOT NULL DEFAULT '[]',
    hangup_cause      TEXT    NOT NULL DEFAULT '',
    hangup_side       TEXT    NOT NULL DEFAULT '',
    packets_sent      INTEGER NOT NULL DEFAULT 0,
    packets_received  INTEGER NOT NULL DEFAULT 0,
    packets_lost      INTEGER NOT NULL DEFAULT 0,
    loss_pct          REAL    NOT NULL DEFAULT 0,
    jitter_ms         REAL    NOT NULL DEFAULT 0,
    rtt_ms            REAL    NOT NULL DEFAULT 0,
    mos               REAL    NOT NULL DEFAULT 0,
    vars              TEXT    NOT NULL DEFAULT '{}'
) STRICT;

-- Searches are newest first, alone or by one of these fields.
CREATE INDEX calls_started     ON calls (started_at, id);
CREATE INDEX calls_caller      ON calls (caller, started_at, id);
CREATE INDEX calls_called      ON calls (called, started_at, id);
CREATE INDEX calls_queue       ON calls (queue, started_at, id);
CREATE INDEX calls_agent       ON calls (agent, started_at, id);
CREATE INDEX calls_flow        ON calls (flow, started_at, id);
CREATE INDEX calls_disposition ON calls (disposition, started_at, id);
-- RecoverActive finds a node's active records at start.
CREATE INDEX calls_active      ON calls (node) WHERE state = 'active';

CREATE TABLE call_events (
    seq     INTEGER PRIMARY KEY,
    call_id TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    name    TEXT    NOT NULL DEFAULT '',
    detail  TEXT    NOT NULL DEFAULT '',
    data    TEXT
) STRICT;

CREATE INDEX call_events_call ON call_events (call_id, at, seq);
