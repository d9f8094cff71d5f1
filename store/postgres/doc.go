// Package postgres is the store backend for several engine nodes sharing one
// database: PostgreSQL through a pgx connection pool (jackc/pgx/v5). Importing it
// registers the driver "postgres"; store.Config.DSN is a URL or libpq key=value
// string, and pgxpool's pool_* parameters are honoured.
//
// Write sends its ops as one pipelined batch inside one transaction, so a batch
// costs one round trip; statements are prepared once per connection (pgx's
// statement cache). Sessions run in UTC. Migrations (migrations/) are applied at
// Open under an advisory lock, so nodes starting together migrate once. Each
// node's records carry its name (store.Config.Node) and RecoverActive completes
// only its own.
//
// Lists are native arrays (text[], integer[]), objects jsonb (so SQL reports can
// reach into vars), times timestamptz.
package postgres
