-- The durable queue event log of METRICS.md (acd.Event's fields). Independent of
-- call records: no foreign key, its own retention.
CREATE TABLE queue_events (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    queue      TEXT    NOT NULL DEFAULT '',
    call_id    TEXT    NOT NULL DEFAULT '',
    agent      TEXT    NOT NULL DEFAULT '',
    wait_ms    INTEGER NOT NULL DEFAULT 0,
    ring_ms    INTEGER NOT NULL DEFAULT 0,
    talk_ms    INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0,
    priority   INTEGER NOT NULL DEFAULT 0,
    target     TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL DEFAULT '',
    callback   INTEGER NOT NULL DEFAULT 0,
    state      TEXT    NOT NULL DEFAULT '',
    from_state TEXT    NOT NULL DEFAULT '',
    node       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX queue_events_at    ON queue_events (at, seq);
CREATE INDEX queue_events_queue ON queue_events (queue, at, seq);
CREATE INDEX queue_events_call  ON queue_events (call_id, at, seq);
CREATE INDEX queue_events_agent ON queue_events (agent, at, seq);
