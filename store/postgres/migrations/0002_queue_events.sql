-- The durable queue event log of METRICS.md (acd.Event's fields). Independent of
-- call records: no foreign key, its own retention.
CREATE TABLE queue_events (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text        NOT NULL,
    queue      text        NOT NULL DEFAULT '',
    call_id    text        NOT NULL DEFAULT '',
    agent      text        NOT NULL DEFAULT '',
    wait_ms    bigint      NOT NULL DEFAULT 0,
    ring_ms    bigint      NOT NULL DEFAULT 0,
    talk_ms    bigint      NOT NULL DEFAULT 0,
    position   integer     NOT NULL DEFAULT 0,
    priority   integer     NOT NULL DEFAULT 0,
    target     text        NOT NULL DEFAULT '',
    reason     text        NOT NULL DEFAULT '',
    callback   boolean     NOT NULL DEFAULT false,
    state      text        NOT NULL DEFAULT '',
    from_state text        NOT NULL DEFAULT '',
    node       text        NOT NULL DEFAULT ''
);

CREATE INDEX queue_events_at    ON queue_events (at, seq);
CREATE INDEX queue_events_queue ON queue_events (queue, at, seq);
CREATE INDEX queue_events_call  ON queue_events (call_id, at, seq);
CREATE INDEX queue_events_agent ON queue_events (agent, at, seq);
