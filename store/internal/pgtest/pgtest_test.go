package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestMissingBinaries: without the server binaries anywhere, the error is the
// install hint, so the store tests fail saying what to install.
func TestMissingBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if dir, err := findBinIn("", filepath.Join(t.TempDir(), "*", "bin")); err == nil || err.Error() != InstallHint {
		t.Fatalf("findBin with no binaries: %q, %v; want the install hint", dir, err)
	}
	if _, err := findBinIn(t.TempDir(), "/nonexistent/*/bin"); err == nil {
		t.Fatal("an empty HOTLINE_PG_BIN directory was accepted")
	}
}

// TestStartStop: a server starts (as a non-root user when the tests run as
// root), serves a fresh database, and Stop removes everything.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := srv.dir
	dsn, err := srv.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "postgres" {
		t.Errorf("current_user %q, %v", user, err)
	}
	c.Close(ctx)
	if _, err := os.Stat(filepath.Join(srv.SocketDir(), ".s.PGSQL."+strconv.Itoa(srv.Port()))); err != nil {
		t.Errorf("unix socket: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("server directory left behind: %v", err)
	}
}
