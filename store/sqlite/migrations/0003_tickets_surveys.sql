-- Tickets and survey results (flow ticket and survey nodes), and the call
-- record's columns that point at them.
ALTER TABLE calls ADD COLUMN survey_scores TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN ticket_ids    TEXT NOT NULL DEFAULT '[]';

CREATE TABLE tickets (
    id         TEXT    PRIMARY KEY,
    call_id    TEXT    NOT NULL DEFAULT '',
    category   TEXT    NOT NULL DEFAULT '',
    priority   TEXT    NOT NULL DEFAULT '',
    status     TEXT    NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    caller     TEXT    NOT NULL DEFAULT '',
    called     TEXT    NOT NULL DEFAULT '',
    flow       TEXT    NOT NULL DEFAULT '',
    language   TEXT    NOT NULL DEFAULT '',
    summary    TEXT    NOT NULL DEFAULT '',
    fields     TEXT    NOT NULL DEFAULT '{}',
    transcript TEXT    NOT NULL DEFAULT '[]',
    recordings TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_status  ON tickets (status, created_at, id);
CREATE INDEX tickets_call    ON tickets (call_id);

CREATE TABLE survey_results (
    seq     INTEGER PRIMARY KEY,
    call_id TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    node    TEXT    NOT NULL DEFAULT '',
    var     TEXT    NOT NULL DEFAULT '',
    score   INTEGER NOT NULL
) STRICT;

CREATE INDEX survey_results_call ON survey_results (call_id, seq);
CREATE INDEX survey_results_at   ON survey_results (at, seq);
