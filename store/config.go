package store

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultDriver        = "sqlite"
	DefaultRetentionDays = 0 // keep everything: deleting data is the operator's decision
	DefaultQueueSize     = 8192
	DefaultBatchSize     = 256
	DefaultOverflowWait  = 20 * time.Millisecond
	// DefaultCommitInterval lets 250 ms of writes (or a full batch) gather in one
	// transaction under load: at 300 calls per second 25 ms already took the store's
	// commits from about 3 per call to one per 7 calls, and 250 ms took another
	// 0.1 ms of the engine's CPU off each call at 150 calls per second
	// (bench/churn.sh; README, Operations). Under load a record reaches the
	// database up to this much later; Writer.Flush cuts the wait short.
	DefaultCommitInterval = 250 * time.Millisecond
)

// Config is the store section of hotline's configuration (YAML, decoded strictly by
// cmd/hotline). Zero fields take the defaults above.
type Config struct {
	// Driver is the backend: "sqlite" (default: one file, no server) or
	// "postgres" (several engine nodes sharing one database).
	Driver string `yaml:"driver"`
	// DSN locates the database. sqlite: a file path, default "hotline.db" in the
	// working directory. postgres: a URL (postgres://user:pass@host:5432/hotline) or
	// libpq key=value string; required.
	DSN string `yaml:"dsn"`
	// Node names this engine node; default "" (a single node). Each record carries
	// its node and RecoverActive completes only the node's own records: give every
	// node sharing one PostgreSQL a distinct, stable name.
	Node string `yaml:"node"`
	// RetentionDays: call records, timelines, queue events and done tickets older
	// than this many days are purged (recording files are returned to the caller
	// for deletion); default 0, keep everything.
	RetentionDays int `yaml:"retention_days"`
	// QueueSize is how many writes the Writer holds before callers wait (see
	// OverflowWait); default 8192 (about 1,000 calls' worth).
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most writes per transaction; default 256.
	BatchSize int `yaml:"batch_size"`
	// OverflowWait is how long a write waits for room in a full queue before it is
	// queued anyway and counted as an overflow (nothing is dropped); default 20ms.
	OverflowWait time.Duration `yaml:"overflow_wait"`
	// CommitInterval is the shortest time between two transactions while writes keep
	// coming, so that they gather in fewer commits; a write after a quiet spell is
	// not delayed. Default 250ms.
	CommitInterval time.Duration `yaml:"commit_interval"`
}

func (c Config) withDefaults() Config {
	if c.Driver == "" {
		c.Driver = DefaultDriver
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.OverflowWait == 0 {
		c.OverflowWait = DefaultOverflowWait
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	return c
}

// Validate returns every problem of the configuration at once (errors.Join), each
// naming its field; zero fields are valid (they take the defaults).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("store.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Driver == "postgres" && c.DSN == "" {
		bad("dsn", "required for the postgres driver")
	}
	if len(c.Node) > maxIDLen {
		bad("node", "longer than %d bytes", maxIDLen)
	}
	if c.RetentionDays < 0 {
		bad("retention_days", "%d is negative (0 keeps everything)", c.RetentionDays)
	}
	if c.QueueSize < 0 || c.QueueSize > 1<<20 {
		bad("queue_size", "%d: want 1 to %d", c.QueueSize, 1<<20)
	}
	if c.BatchSize < 0 || c.BatchSize > 10000 {
		bad("batch_size", "%d: want 1 to 10000", c.BatchSize)
	}
	if c.OverflowWait < 0 || c.OverflowWait > 10*time.Second {
		bad("overflow_wait", "%v: want 0 to 10s", c.OverflowWait)
	}
	if c.CommitInterval < 0 || c.CommitInterval > time.Second {
		bad("commit_interval", "%v: want 0 to 1s", c.CommitInterval)
	}
	return errors.Join(errs...)
}

// WriterOptions returns the Writer options the configuration sets.
func (c Config) WriterOptions() []WriterOption {
	c = c.withDefaults()
	return []WriterOption{WithQueueSize(c.QueueSize), WithBatchSize(c.BatchSize), WithOverflowWait(c.OverflowWait),
		WithCommitInterval(c.CommitInterval)}
}
