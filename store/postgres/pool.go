package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pingAfter is how long a connection may sit idle before it is pinged on reuse: a
// server restart or a firewall's idle timeout kills connections silently, and one
// ping is cheaper than a failed batch.
const pingAfter = 30 * time.Second

// errPoolClosed is returned by acquire after close.
var errPoolClosed = errors.New("postgres: pool closed")

// pool is a small connection pool over pgx.Conn. pgxpool would do, but it pulls in
// jackc/puddle, which is not among this module's requirements; what the store
// needs is little: at most max connections, idle ones reused (pinged when they sat
// long), broken ones dropped, and close.
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per connection open or opening; capacity max
	idle  chan idleConn // capacity max: a put never blocks
	done  chan struct{} // closed by close

	mu       sync.Mutex
	inUse    int        // connections handed out and not yet released
	returned *sync.Cond // signalled when inUse drops to 0
	closed   bool
}

type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	p := &pool{
		cfg:   cfg,
		slots: make(chan struct{}, max),
		idle:  make(chan idleConn, max),
		done:  make(chan struct{}),
	}
	p.returned = sync.NewCond(&p.mu)
	return p
}

// handOut counts c as in use, unless the pool closed meanwhile.
func (p *pool) handOut(c *pgx.Conn) (*pgx.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.discard(c)
		return nil, errPoolClosed
	}
	p.inUse++
	return c, nil
}

// acquire returns an idle connection, or a new one while fewer than max exist, or
// waits for one to be released.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	for {
		select {
		case <-p.done:
			return nil, errPoolClosed
		default:
		}
		select {
		case ic := <-p.idle:
			if c := p.check(ctx, ic); c != nil {
				return p.handOut(c)
			}
		case p.slots <- struct{}{}:
			c, err := pgx.ConnectConfig(ctx, p.cfg)
			if err != nil {
				<-p.slots
				return nil, fmt.Errorf("connect: %w", err)
			}
			return p.handOut(c)
		case <-p.done:
			return nil, errPoolClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// check returns an idle connection if it is usable, pinging it when it sat idle
// long; otherwise it closes it, frees its slot and returns nil.
func (p *pool) check(ctx context.Context, ic idleConn) *pgx.Conn {
	if !ic.c.IsClosed() && (time.Since(ic.since) < pingAfter || ic.c.Ping(ctx) == nil) {
		return ic.c
	}
	p.discard(ic.c)
	return nil
}

// release gives c back: idle when it is healthy and outside a transaction, closed
// otherwise (a query cancelled midway leaves it unusable).
func (p *pool) release(c *pgx.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse--
	if p.inUse == 0 {
		p.returned.Broadcast()
	}
	if p.closed || c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		p.discard(c)
		return
	}
	p.idle <- idleConn{c: c, since: time.Now()}
}

func (p *pool) discard(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
	<-p.slots
}

func (p *pool) drain() {
	for {
		select {
		case ic := <-p.idle:
			p.discard(ic.c)
		default:
			return
		}
	}
}

// close stops handing out connections, waits for those in use to come back and
// closes them all. It is idempotent.
func (p *pool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	for p.inUse > 0 {
		p.returned.Wait()
	}
	p.mu.Unlock()
	p.drain()
}

// with runs fn on a pooled connection.
func (p *pool) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(c)
	return fn(c)
}

// Exec runs one statement on a pooled connection.
func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := p.with(ctx, func(c *pgx.Conn) error {
		var err error
		tag, err = c.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// Query runs a query on a pooled connection, which goes back to the pool when the
// rows are closed or read to the end.
func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		p.release(c)
		return nil, err
	}
	return &poolRows{Rows: rows, p: p, c: c}, nil
}

// QueryRow is Query for one row; Scan reports pgx.ErrNoRows for none.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return poolRow{rows: rows, err: err}
}

// poolRows releases its connection once the rows are done.
type poolRows struct {
	pgx.Rows
	p    *pool
	c    *pgx.Conn
	done bool
}

func (r *poolRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *poolRows) Close() {
	r.Rows.Close()
	if !r.done {
		r.done = true
		r.p.release(r.c)
	}
}

type poolRow struct {
	rows pgx.Rows
	err  error
}

func (r poolRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
