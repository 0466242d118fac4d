#include "store/sqlite_migrations.hpp"

#include <array>
#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "store/migration_rules.hpp"
#include "store/sqlite_transaction.hpp"

namespace berth::store {
namespace {

// Conventions: snake_case columns; timestamps are Unix milliseconds (INTEGER); JSON is TEXT;
// booleans are 0/1. Tables keep their implicit rowid, the insertion-order tiebreak of every list
// (ORDER BY created_at, rowid). Child rows reference users ON DELETE CASCADE so deleting a user
// is one atomic statement; each foreign key column is indexed so the cascade is not a scan.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE users (
  id         TEXT    NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  email      TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX users_created_at_idx ON users (created_at);

CREATE TABLE api_tokens (
  id         TEXT    NOT NULL PRIMARY KEY,
  role       TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
  user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT    NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  CHECK ((role = 'user') = (user_id IS NOT NULL))
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE llm_providers (
  id           TEXT    NOT NULL PRIMARY KEY,
  user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT    NOT NULL,
  display_name TEXT,
  type         TEXT    NOT NULL,
  base_url     TEXT,
  api_key      TEXT,
  api_type     TEXT,
  models       TEXT    NOT NULL DEFAULT '[]',
  is_active    INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (user_id, name)
);
-- Serves ListProviders(user, active_only=true) in order without a sort (rowid is the implicit
-- last key of every index).
CREATE INDEX llm_providers_user_active_created_idx
  ON llm_providers (user_id, is_active, created_at);

CREATE TABLE user_agent_configs (
  user_id       TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  primary_model TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE user_containers (
  id               TEXT    NOT NULL PRIMARY KEY,
  user_id          TEXT    NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  container_id     TEXT,
  container_name   TEXT    NOT NULL,
  gateway_port     INTEGER,
  gateway_token    TEXT    NOT NULL,
  token_hash       TEXT    NOT NULL UNIQUE,
  status           TEXT    NOT NULL DEFAULT 'stopped',
  last_active_at   INTEGER,
  idle_timeout_min INTEGER NOT NULL DEFAULT 30,
  config           TEXT    NOT NULL DEFAULT '{}',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX user_containers_created_at_idx ON user_containers (created_at);

CREATE TABLE system_containers (
  id             TEXT    NOT NULL PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE,
  primary_model  TEXT,
  container_id   TEXT,
  container_name TEXT    NOT NULL,
  gateway_port   INTEGER,
  gateway_token  TEXT    NOT NULL,
  token_hash     TEXT    NOT NULL UNIQUE,
  status         TEXT    NOT NULL DEFAULT 'stopped',
  last_active_at INTEGER,
  config         TEXT    NOT NULL DEFAULT '{}',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);

-- A container token hash must resolve to exactly one container across both tables, so a token
-- can only ever open its own container's config. The messages mimic SQLite's own UNIQUE errors
-- (SqliteStatus maps them to kAlreadyExists).
CREATE TRIGGER user_containers_token_hash_insert BEFORE INSERT ON user_containers
  WHEN EXISTS (SELECT 1 FROM system_containers WHERE token_hash = NEW.token_hash)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: system_containers.token_hash'); END;
CREATE TRIGGER user_containers_token_hash_update BEFORE UPDATE OF token_hash ON user_containers
  WHEN EXISTS (SELECT 1 FROM system_containers WHERE token_hash = NEW.token_hash)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: system_containers.token_hash'); END;
CREATE TRIGGER system_containers_token_hash_insert BEFORE INSERT ON system_containers
  WHEN EXISTS (SELECT 1 FROM user_containers WHERE token_hash = NEW.token_hash)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: user_containers.token_hash'); END;
CREATE TRIGGER system_containers_token_hash_update BEFORE UPDATE OF token_hash ON system_containers
  WHEN EXISTS (SELECT 1 FROM user_containers WHERE token_hash = NEW.token_hash)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: user_containers.token_hash'); END;
)sql";

// One random id per database: berth labels the containers it creates with it, so several
// databases (test runs, staging and production) can share one engine without touching each
// other's containers, while replicas sharing one database manage the same fleet.
constexpr const char* kInstanceId = R"sql(
CREATE TABLE berth_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO berth_meta (key, value) VALUES ('instance_id', lower(hex(randomblob(16))));
)sql";

// What a token's owner sees of it when listing tokens (prefix) and when it last served.
constexpr const char* kTokenHygiene = R"sql(
ALTER TABLE api_tokens ADD COLUMN prefix TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
)sql";

// Coordination of replicas (coordination.hpp): lease rows with fencing epochs and the change
// feed. On SQLite one berth runs (serve_lock.hpp), so they are never contended; they exist so
// that both backends keep one schema and `berth db copy` sees the same tables.
constexpr const char* kReplicas = R"sql(
CREATE TABLE leases (
  name     TEXT    NOT NULL PRIMARY KEY,
  holder   TEXT    NOT NULL,
  epoch    INTEGER NOT NULL,
  until_ms INTEGER NOT NULL
);
CREATE TABLE changes (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  kind    TEXT    NOT NULL,
  subject TEXT    NOT NULL,
  at_ms   INTEGER NOT NULL
);
CREATE INDEX changes_at_idx ON changes (at_ms);
)sql";

// PostgreSQL's migration 5 changes how its container trigger serialises writers (a bulk copy
// takes table locks instead of a lock per row). SQLite's triggers take no locks (a write
// transaction holds the whole database), so nothing changes here; the step exists so that
// schema version 5 means one thing on both backends (postgres_migrations.hpp).
constexpr const char* kBulkCopy = "-- nothing to change on SQLite";

// The node an agent's state lives on, for runtimes of several nodes (Docker Swarm): set at the
// agent's first start and kept, so the agent always runs where its volume is.
constexpr const char* kAgentNodes = R"sql(
ALTER TABLE user_containers ADD COLUMN node_id TEXT;
ALTER TABLE user_containers ADD COLUMN node_name TEXT;
ALTER TABLE system_containers ADD COLUMN node_id TEXT;
ALTER TABLE system_containers ADD COLUMN node_name TEXT;
)sql";

// What agents used through berth's LLM gateway, per user, provider, model and UTC day; the
// limits admins set per user, and the budget windows that enforce them (reservations).
constexpr const char* kLlmUsage = R"sql(
CREATE TABLE llm_usage (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  unpriced_requests INTEGER NOT NULL,
  PRIMARY KEY (user_id, day, provider, model)
);
CREATE INDEX llm_usage_day ON llm_usage(day);
CREATE TABLE llm_limits (
  user_id TEXT NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  nano_usd_per_day BIGINT,
  nano_usd_per_month BIGINT,
  tokens_per_day BIGINT,
  tokens_per_month BIGINT,
  requests_per_minute BIGINT,
  tokens_per_minute BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE TABLE llm_budget (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  period TEXT NOT NULL,
  spent_nano_usd BIGINT NOT NULL,
  spent_tokens BIGINT NOT NULL,
  requests BIGINT NOT NULL,
  reserved_nano_usd BIGINT NOT NULL,
  reserved_tokens BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, period)
);
CREATE INDEX llm_budget_expiry ON llm_budget(expires_at);
)sql";

// The bounded log of recent LLM calls (store.hpp, AddRequestLog): newest entries per user.
constexpr const char* kLlmRequestLog = R"sql(
CREATE TABLE llm_request_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at_ms INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  api TEXT NOT NULL,
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  priced INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX llm_request_log_user ON llm_request_log(user_id, id);
)sql";

constexpr std::array kMigrations = {
    SqliteMigration{1, "initial schema", kInitialSchema},
    SqliteMigration{2, "instance id", kInstanceId},
    SqliteMigration{3, "token prefix and last use", kTokenHygiene},
    SqliteMigration{4, "leases and change feed", kReplicas},
    SqliteMigration{5, "bulk copy without a lock per container", kBulkCopy},
    SqliteMigration{6, "agent nodes", kAgentNodes},
    SqliteMigration{7, "llm usage and budgets", kLlmUsage},
    SqliteMigration{8, "llm request log", kLlmRequestLog},
};

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";
constexpr const char* kCurrentVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

Result<int64_t> CurrentVersion(SqliteConnection& conn) {
  auto stmt = conn.Prepare(kCurrentVersion);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Internal("sqlite: schema_migrations answered no row");
  return stmt->Int64(0);
}

Status Apply(SqliteConnection& conn, const SqliteMigration& migration, int64_t latest_known) {
  auto txn = SqliteTransaction::Begin(conn);
  if (!txn.ok()) return txn.status();
  // Re-read under the write lock: another process may have migrated since we looked.
  auto current = CurrentVersion(conn);
  if (!current.ok()) return current.status();
  if (*current > latest_known) return migration_rules::TooNew(*current, latest_known);
  if (*current >= migration.version) return txn->Commit();

  Status applied = conn.ExecScript(migration.sql);
  if (!applied.ok()) {
    return Status(applied.code(), "schema migration " + std::to_string(migration.version) + " (" +
                                      migration.name + ") failed: " + applied.message());
  }
  auto record = conn.Prepare(kRecordMigration);
  if (!record.ok()) return record.status();
  record->Bind(1, migration.version);
  record->Bind(2, migration.name);
  record->Bind(3, ToUnixMillis(std::chrono::system_clock::now()));
  BERTH_RETURN_IF_ERROR(record->Run());
  return txn->Commit();
}

}  // namespace

std::span<const SqliteMigration> SqliteMigrations() { return kMigrations; }

Status ApplySqliteMigrations(SqliteConnection& conn, std::span<const SqliteMigration> migrations) {
  BERTH_RETURN_IF_ERROR(migration_rules::CheckOrder(migrations, "sqlite"));
  const int64_t latest_known = migrations.back().version;
  BERTH_RETURN_IF_ERROR(conn.Exec(kCreateMigrationsTable));
  auto current = CurrentVersion(conn);
  if (!current.ok()) return current.status();
  if (*current > latest_known) return migration_rules::TooNew(*current, latest_known);
  for (const SqliteMigration& migration : migrations) {
    if (migration.version <= *current) continue;
    BERTH_RETURN_IF_ERROR(Apply(conn, migration, latest_known));
  }
  return Status::Ok();
}

}  // namespace berth::store
