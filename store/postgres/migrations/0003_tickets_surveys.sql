-- Tickets and survey results (flow ticket and survey nodes), and the call
-- record's columns that point at them.
ALTER TABLE calls
    ADD COLUMN survey_scores integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN ticket_ids    text[]    NOT NULL DEFAULT '{}';

CREATE TABLE tickets (
    id         text        PRIMARY KEY,
    call_id    text        NOT NULL DEFAULT '',
    category   text        NOT NULL DEFAULT '',
    priority   text        NOT NULL DEFAULT '',
    status     text        NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    caller     text        NOT NULL DEFAULT '',
    called     text        NOT NULL DEFAULT '',
    flow       text        NOT NULL DEFAULT '',
    language   text        NOT NULL DEFAULT '',
    summary    text        NOT NULL DEFAULT '',
    fields     jsonb       NOT NULL DEFAULT '{}',
    transcript text[]      NOT NULL DEFAULT '{}',
    recordings text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_status  ON tickets (status, created_at, id);
CREATE INDEX tickets_call    ON tickets (call_id);

CREATE TABLE survey_results (
    seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id text        NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    node    text        NOT NULL DEFAULT '',
    var     text        NOT NULL DEFAULT '',
    score   integer     NOT NULL
);

CREATE INDEX survey_results_call ON survey_results (call_id, seq);
CREATE INDEX survey_results_at   ON survey_results (at, seq);
