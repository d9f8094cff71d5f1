// Package sqlite is the default store backend: one database file, no server, pure
// Go (modernc.org/sqlite, no cgo). Importing it registers the driver "sqlite".
//
// The file runs in WAL mode, so reads (the API, `hotline calls show`) never wait
// for the writer and the writer never waits for them. One connection writes, with
// BEGIN IMMEDIATE transactions (the lock is taken at the start, so a busy
// database makes a transaction wait its busy timeout instead of failing midway);
// a small pool of query_only connections reads. Every connection sets
// busy_timeout (5 s), foreign_keys (a timeline row needs its call) and an
// in-memory temp store; the writer also sets synchronous=NORMAL (FULL with
// WithSyncFull) and caps the WAL file at 64 MB after checkpoints.
//
// Times are INTEGER unix microseconds, lists and objects JSON text, and every
// table is STRICT, so a wrong type is an error at write time rather than a
// surprise in a report. The schema is in migrations/, applied at Open.
package sqlite
