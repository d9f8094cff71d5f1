-- Call records and their timelines. Durations are whole milliseconds.
CREATE TABLE calls (
    id                text             PRIMARY KEY,
    node              text             NOT NULL DEFAULT '',
    state             text             NOT NULL CHECK (state IN ('active', 'ended')),
    started_at        timestamptz      NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    direction         text             NOT NULL DEFAULT '',
    caller            text             NOT NULL DEFAULT '',
    called            text             NOT NULL DEFAULT '',
    trunk             text             NOT NULL DEFAULT '',
    transport         text             NOT NULL DEFAULT '',
    codec             text             NOT NULL DEFAULT '',
    flow              text             NOT NULL DEFAULT '',
    flow_version      text             NOT NULL DEFAULT '',
    language          text             NOT NULL DEFAULT '',
    node_path         text[]           NOT NULL DEFAULT '{}',
    intent            text             NOT NULL DEFAULT '',
    intent_confidence double precision NOT NULL DEFAULT 0,
    sentiment         double precision NOT NULL DEFAULT 0,
    disposition       text             NOT NULL DEFAULT '',
    contained         boolean          NOT NULL DEFAULT false,
    queue             text             NOT NULL DEFAULT '',
    agent             text             NOT NULL DEFAULT '',
    wait_ms           bigint           NOT NULL DEFAULT 0,
    talk_ms           bigint           NOT NULL DEFAULT 0,
    hold_ms           bigint           NOT NULL DEFAULT 0,
    wrapup_ms         bigint           NOT NULL DEFAULT 0,
    recordings        text[]           NOT NULL DEFAULT '{}',
    hangup_cause      text             NOT NULL DEFAULT '',
    hangup_side       text             NOT NULL DEFAULT '',
    packets_sent      bigint           NOT NULL DEFAULT 0,
    packets_received  bigint           NOT NULL DEFAULT 0,
    packets_lost      bigint           NOT NULL DEFAULT 0,
    loss_pct          double precision NOT NULL DEFAULT 0,
    jitter_ms         double precision NOT NULL DEFAULT 0,
    rtt_ms            double precision NOT NULL DEFAULT 0,
    mos               double precision NOT NULL DEFAULT 0,
    vars              jsonb            NOT NULL DEFAULT '{}'
);

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
    seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id text        NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    kind    text        NOT NULL,
    name    text        NOT NULL DEFAULT '',
    detail  text        NOT NULL DEFAULT '',
    data    jsonb
);

CREATE INDEX call_events_call ON call_events (call_id, at, seq);
