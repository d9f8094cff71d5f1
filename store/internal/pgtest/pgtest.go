// Package pgtest runs a throwaway PostgreSQL server for the store's tests: initdb
// into a temporary directory, the postgres server on a free loopback port (and a
// unix socket in that directory), one fresh database per test, everything removed
// at Stop.
//
// It needs the PostgreSQL server binaries: on Debian, the package postgresql
// (apt-get install postgresql), which puts them in /usr/lib/postgresql/<N>/bin;
// PATH and HOTLINE_PG_BIN (a directory) are searched first. Without them Start
// fails with that advice: the tests fail rather than skip, so CI never passes
// without having tested the PostgreSQL backend.
//
// PostgreSQL refuses to run as root. When the tests run as root (CI containers),
// initdb and the server run as the user "postgres" (which the Debian package
// creates), else "nobody", by setting the child's credentials directly (no
// su/runuser needed); the directory is created for that user under a world-
// traversable temporary directory.
//
// The server is a child of the test process started with a parent-death signal
// (Linux), so a test binary killed by a timeout does not leave a server behind.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint is the advice given when the server binaries are missing.
const InstallHint = "PostgreSQL server binaries (initdb, postgres) not found in PATH, $HOTLINE_PG_BIN or /usr/lib/postgresql/*/bin: " +
	"install the Debian package postgresql (sudo apt-get install postgresql) to run the PostgreSQL store tests"

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir  string // removed at Stop
	sock string // unix socket directory
	port int
	cmd  *exec.Cmd
	log  string
	dbs  atomic.Int64
	exit chan struct{} // closed when the server process exited
}

// Start initializes a cluster in a new temporary directory and starts the server.
func Start(ctx context.Context) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, owner, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(baseDir(cred != nil), "hotline-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	s := &Server{dir: dir, sock: filepath.Join(dir, "sock"), log: filepath.Join(dir, "postgres.log"), exit: make(chan struct{})}
	if err := s.start(ctx, bin, cred, owner); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential, owner *user.User) error {
	data := filepath.Join(s.dir, "data")
	for _, d := range []string{s.dir, s.sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: give %s to %s: %w", d, owner.Username, err)
			}
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 3 { // the free port may be taken between choosing and binding it
		port, err := freePort()
		if err != nil {
			return err
		}
		if lastErr = s.run(ctx, bin, data, port, cred); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

// run starts the server on port and waits until it accepts connections.
func (s *Server) run(ctx context.Context, bin, data string, port int, cred *syscall.Credential) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	// Durability off: a test database need not survive a power cut, and fsync
	// would dominate the tests' time.
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-k", s.sock, "-h", "127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning")
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, s.dir
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	s.cmd, s.port, s.exit = cmd, port, exit
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-exit:
			return fmt.Errorf("pgtest: postgres exited at start:\n%s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: waiting for postgres: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("pgtest: postgres did not accept connections in 30 s: %v\n%s", err, s.logTail())
		}
	}
}

// DSN is the URL of database db on the server, over TCP on loopback.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// SocketDir is the directory of the server's unix socket (psql -h SocketDir -p Port).
func (s *Server) SocketDir() string { return s.sock }

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// Stop shuts the server down (fast shutdown: sessions are cut) and removes its
// directory. It is safe on a partly started Server and idempotent.
func (s *Server) Stop() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-s.exit:
		case <-time.After(15 * time.Second):
			s.kill()
			err = errors.New("pgtest: postgres did not stop in 15 s; killed")
		}
		s.cmd = nil
	}
	if s.dir != "" {
		err = errors.Join(err, os.RemoveAll(s.dir))
		s.dir = ""
	}
	return err
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown, children too
		select {
		case <-s.exit:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exit
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// findBin finds the directory holding initdb and postgres: $HOTLINE_PG_BIN, PATH,
// then the newest /usr/lib/postgresql/<N>/bin (Debian's layout).
func findBin() (string, error) {
	return findBinIn(os.Getenv("HOTLINE_PG_BIN"), debianBins)
}

// debianBins is where Debian's postgresql packages put the server binaries.
const debianBins = "/usr/lib/postgresql/*/bin"

// findBinIn is findBin with its places given: the directory pgBin, PATH, then the
// directories glob matches, newest version first.
func findBinIn(pgBin, glob string) (string, error) {
	var dirs []string
	if pgBin != "" {
		dirs = append(dirs, pgBin)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	versions, _ := filepath.Glob(glob)
	slices.SortFunc(versions, func(a, b string) int { return pgMajor(b) - pgMajor(a) }) // newest first
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New(InstallHint)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// runAs returns the credentials to run PostgreSQL with: nil when not root,
// else those of "postgres" or, failing that, "nobody".
func runAs() (*syscall.Credential, *user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, u, nil
	}
	return nil, nil, errors.New("pgtest: running as root and neither user postgres nor nobody exists: PostgreSQL refuses to run as root; " +
		"install the Debian package postgresql (it creates the user postgres)")
}

// baseDir is where the server's directory goes: the usual temporary directory,
// unless the server runs as another user who could not reach it (TMPDIR under
// /root), then /tmp.
func baseDir(otherUser bool) string {
	d := os.TempDir()
	if !otherUser || traversable(d) {
		return d
	}
	return "/tmp"
}

// traversable reports whether every directory from / to d lets others pass.
func traversable(d string) bool {
	d, err := filepath.Abs(d)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(d)
		if parent == d {
			return true
		}
		d = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared starts one server for the whole test binary on first use; later calls
// return the same server (or the same error). TestMain calls StopShared after the
// tests.
func Shared() (*Server, error) {
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx)
	})
	return shared, sharedErr
}

// StopShared stops the server Shared started, if any.
func StopShared() error {
	if shared == nil {
		return nil
	}
	return shared.Stop()
}
