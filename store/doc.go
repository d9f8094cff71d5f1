// Package store is hotline's durable memory: one call record per call that reached
// the engine (rejected, failed and crashed calls included, DESIGN.md principle 7),
// each call's timeline for `hotline calls show`, the queue event log of METRICS.md,
// work tickets and survey results.
//
// # Shape
//
// Store is the one interface every backend implements; store/sqlite (the default,
// pure Go, one file) and store/postgres (several engine nodes, one database)
// register themselves by name in init(), so the binary chooses a backend by
// importing it and naming it in Config.Driver, as database/sql does. The same table
// of tests runs over every registered backend.
//
// All writes go through Store.Write, which applies a list of operations (Op) in one
// transaction. The call path never calls it directly: it hands operations to a
// Writer, whose goroutine batches them into transactions, so a slow disk or a
// database restart delays records, never calls.
//
// # Life of a record
//
//  1. StartCall inserts the record in state active as soon as the call reaches the
//     engine (before it is answered or rejected).
//  2. UpdateCall may checkpoint it while the call lasts (answered, queued, agent).
//  3. FinishCall completes it: state ended, every field final.
//
// When the engine dies, step 3 never happens: RecoverActive, called at the next
// start, ends every record still active with hang-up cause "engine_restart", so no
// call is lost, only its ending.
//
// # Time
//
// Times are stored with microsecond precision and returned in UTC; durations (wait,
// talk, hold, wrap-up, queue event times) are whole milliseconds.
//
// # Retention
//
// Purge deletes call records (with their timelines and survey results), queue
// events and closed tickets older than a cutoff. Recording files are referenced,
// not deleted by Purge: it returns their paths. Retention runs Purge on a
// schedule for Config.RetentionDays and deletes those files with the remover it
// is given.
//
// # Schema
//
// Each backend embeds numbered migrations (migrations/NNNN_name.sql, the same
// numbers on both) and applies the pending ones at Open, each in a transaction
// with its row in schema_migrations, so Open is idempotent, a crash mid-migration
// leaves the previous version, and engine nodes starting together migrate once. A
// database migrated by a newer hotline is refused (ErrSchemaTooNew).
package store
