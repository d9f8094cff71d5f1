package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
	_ "github.com/hotline-ivr/hotline/store/postgres" // registers "postgres"
	_ "github.com/hotline-ivr/hotline/store/sqlite"   // registers "sqlite"
)

// records is the engine's durable memory: the store, the background writer every
// call submits to, and the retention purge.
type records struct {
	store  store.Store
	writer *store.Writer
	stop   context.CancelFunc // ends the retention loop
	done   chan struct{}
	log    *slog.Logger
	sip    *sipTimeline  // SIP messages into the timelines of calls (traceSIP)
	refuse *refusedCalls // records of INVITEs refused before they became calls
}

// storeConfig is cfg.Store with the engine's defaults: SQLite in the data directory.
func (c *Config) storeConfig() store.Config {
	sc := c.Store
	if (sc.Driver == "" || sc.Driver == "sqlite") && sc.DSN == "" {
		sc.DSN = filepath.Join(c.DataDir, "hotline.db")
	}
	return sc
}

// openRecords opens the store, completes the records of calls a previous run left
// open (the engine died with them up), and starts the writer and retention.
func openRecords(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*records, error) {
	sc := cfg.storeConfig()
	s, err := store.Open(ctx, sc, log)
	if err != nil {
		return nil, fmt.Errorf("open call records (%s %s): %w", sc.Driver, sc.DSN, err)
	}
	ids, err := s.RecoverActive(ctx, time.Now())
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("complete the records of calls cut off by the last stop: %w", err)
	}
	if len(ids) > 0 {
		log.Warn("completed the records of calls cut off by the last stop", "calls", len(ids), "cause", "engine_restart")
	}
	m, err := store.NewWriterMetrics(reg)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	w, err := store.NewWriter(s, append(sc.WriterOptions(), store.WithMetrics(m), store.WithWriterLogger(log))...)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	r := &records{store: s, writer: w, log: log, done: make(chan struct{})}
	recDir := cfg.recordingsDir()
	ret, err := store.NewRetention(s, sc.RetentionDays, store.WithRetentionLogger(log),
		store.WithRecordingRemover(func(name string) error { return removeRecording(recDir, name) }))
	if err != nil {
		_ = w.Close()
		_ = s.Close()
		return nil, err
	}
	r.sip = newSIPTimeline(r.writer, log)
	if r.refuse, err = newRefusedCalls(r, reg, log); err != nil {
		_ = w.Close()
		_ = s.Close()
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() {
		defer close(r.done)
		ret.Run(rctx)
	}()
	return r, nil
}

// removeRecording deletes a purged recording, refusing names that leave dir.
func removeRecording(dir, name string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	err = root.Remove(filepath.FromSlash(name))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// close writes what is queued and closes the store; calls must have ended.
func (r *records) close() {
	r.stop()
	<-r.done
	r.refuse.close()
	r.sip.close()
	if err := r.writer.Close(); err != nil {
		r.log.Error("call records: writer close", "error", err)
	}
	if err := r.store.Close(); err != nil {
		r.log.Error("call records: store close", "error", err)
	}
}

// submit hands ops to the writer; a refusal (invalid op) is logged with the call.
// A StartCall opens the call's timeline to its SIP messages, a FinishCall closes it
// (after a grace for the last answers, see sipTimeline).
func (r *records) submit(callID string, ops ...store.Op) {
	if err := r.writer.Submit(ops...); err != nil {
		r.log.Error("call record refused", "call_id", callID, "error", err)
		return
	}
	for _, op := range ops {
		switch op := op.(type) {
		case store.StartCall:
			r.sip.begin(op.Record.ID)
		case store.FinishCall:
			r.sip.end(op.Record.ID)
		}
	}
}

// traceSIP is the SIP server's message observer (sip.WithMessageTrace): it queues
// the message for the call's timeline and returns at once.
func (r *records) traceSIP(m sip.MessageTrace) { r.sip.observe(m) }

// event adds one line to a call's timeline.
func (r *records) event(callID string, kind store.EventKind, name, detail string) {
	r.submit(callID, store.CallEvent{CallID: callID, At: time.Now(), Kind: kind, Name: name, Detail: detail})
}

// hangupSide says who ended a call from its SIP cause.
func hangupSide(cause string) store.HangupSide {
	switch cause {
	case "caller_bye", "cancel", "caller": // caller: a WebRTC page hung up or went away
		return store.HangupCaller
	case "callee_bye":
		return store.HangupCallee
	case "":
		return store.HangupUnknown
	}
	return store.HangupEngine
}

// finishRecord fills a call record's final fields from the flow's result.
func finishRecord(rec *store.CallRecord, res ivr.Result, q rtcp.Summary) {
	rec.Flow, rec.FlowVersion = res.Flow, res.Version
	rec.Language = res.Language
	rec.NodePath = res.Path
	rec.Intent, rec.IntentConfidence, rec.Sentiment = res.Intent, res.IntentConfidence, res.Sentiment
	rec.Disposition = store.Disposition(res.Disposition)
	rec.Contained = res.Contained
	if res.Queue != nil {
		rec.Queue, rec.Agent, rec.Wait, rec.Talk = res.Queue.Name, res.Queue.Agent, res.Queue.Waited, res.Queue.Talked
	}
	rec.Recordings = append(rec.Recordings, res.Recordings...)
	for _, a := range res.Survey {
		rec.SurveyScores = append(rec.SurveyScores, a.Score)
	}
	rec.TicketIDs = res.Tickets
	rec.Quality = store.Quality{
		PacketsSent: int64(q.PacketsSent), PacketsReceived: int64(q.PacketsReceived),
		PacketsLost: q.PacketsLost, LossPercent: q.LossPercent, JitterMs: q.JitterMs,
		RTTMs: q.RTTMs, MOS: q.MOS,
	}
	if len(res.Vars) > 0 {
		if b, err := json.Marshal(res.Vars); err == nil {
			rec.Vars = b
		}
	}
}

// surveyOps turns a call's survey answers into the store's survey results.
func surveyOps(callID string, at time.Time, res ivr.Result) []store.Op {
	var ops []store.Op
	for _, a := range res.Survey {
		ops = append(ops, store.SurveyResult{CallID: callID, At: at, Node: a.Node, Var: a.Var, Score: a.Score})
	}
	return ops
}

// ticketStore creates the flows' tickets in the store.
type ticketStore struct{ w *store.Writer }

var _ ivr.TicketStore = ticketStore{}

// CreateTicket queues the ticket and returns its id at once.
func (t ticketStore) CreateTicket(_ context.Context, tk ivr.Ticket) (string, error) {
	fields, err := json.Marshal(tk.Fields)
	if err != nil {
		return "", fmt.Errorf("ticket fields: %w", err)
	}
	return t.w.CreateTicket(store.Ticket{
		Category: tk.Category, Priority: tk.Priority, Summary: tk.Summary,
		Fields: fields, Transcript: tk.Transcript, CallID: tk.CallID, Recordings: tk.Recordings,
		Caller: tk.Caller, Called: tk.Called, Flow: tk.Flow, Language: tk.Language,
	})
}
