#include "store/postgres_migrations.hpp"

#include <array>
#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "store/migration_rules.hpp"

namespace berth::store {
namespace {

// The SQLite schema after its migrations 1-3 (sqlite_migrations.cpp), in PostgreSQL's types:
// - timestamps stay Unix milliseconds (BIGINT), JSON stays TEXT (kept byte for byte, as berth
//   wrote it), is_active is a BOOLEAN;
// - SQLite's implicit rowid, the insertion-order tiebreak of every list, is an identity column
//   `seq` (ORDER BY created_at, seq), indexed with created_at where lists need it;
// - constraint names are PostgreSQL's defaults, which postgres_error.cpp maps back to the
//   column names the store's error messages use;
// - a container token hash must resolve to exactly one container across both tables: the
//   trigger checks the other table under a transaction-level advisory lock on the hash, so two
//   concurrent writers of one hash (in different tables) cannot both pass the check;
// - the instance id is random per database (gen_random_uuid, 32 hex digits).
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE users (
  seq        BIGINT GENERATED ALWAYS AS IDENTITY,
  id         TEXT   NOT NULL PRIMARY KEY,
  name       TEXT   NOT NULL,
  email      TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX users_created_at_idx ON users (created_at, seq);

CREATE TABLE api_tokens (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY,
  id           TEXT   NOT NULL PRIMARY KEY,
  role         TEXT   NOT NULL CHECK (role IN ('user', 'admin')),
  user_id      TEXT   REFERENCES users (id) ON DELETE CASCADE,
  token_hash   TEXT   NOT NULL UNIQUE,
  created_at   BIGINT NOT NULL,
  prefix       TEXT,
  last_used_at BIGINT,
  CHECK ((role = 'user') = (user_id IS NOT NULL))
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, created_at, seq);

CREATE TABLE llm_providers (
  seq          BIGINT  GENERATED ALWAYS AS IDENTITY,
  id           TEXT    NOT NULL PRIMARY KEY,
  user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT    NOT NULL,
  display_name TEXT,
  type         TEXT    NOT NULL,
  base_url     TEXT,
  api_key      TEXT,
  api_type     TEXT,
  models       TEXT    NOT NULL DEFAULT '[]',
  is_active    BOOLEAN NOT NULL DEFAULT TRUE,
  created_at   BIGINT  NOT NULL,
  updated_at   BIGINT  NOT NULL,
  UNIQUE (user_id, name)
);
CREATE INDEX llm_providers_user_active_created_idx
  ON llm_providers (user_id, is_active, created_at, seq);

CREATE TABLE user_agent_configs (
  seq           BIGINT GENERATED ALWAYS AS IDENTITY,
  user_id       TEXT   NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  primary_model TEXT,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);

CREATE TABLE user_containers (
  seq              BIGINT  GENERATED ALWAYS AS IDENTITY,
  id               TEXT    NOT NULL PRIMARY KEY,
  user_id          TEXT    NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  container_id     TEXT,
  container_name   TEXT    NOT NULL,
  gateway_port     INTEGER,
  gateway_token    TEXT    NOT NULL,
  token_hash       TEXT    NOT NULL UNIQUE,
  status           TEXT    NOT NULL DEFAULT 'stopped',
  last_active_at   BIGINT,
  idle_timeout_min INTEGER NOT NULL DEFAULT 30,
  config           TEXT    NOT NULL DEFAULT '{}',
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL
);
CREATE INDEX user_containers_created_at_idx ON user_containers (created_at, seq);

CREATE TABLE system_containers (
  seq            BIGINT  GENERATED ALWAYS AS IDENTITY,
  id             TEXT    NOT NULL PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE,
  primary_model  TEXT,
  container_id   TEXT,
  container_name TEXT    NOT NULL,
  gateway_port   INTEGER,
  gateway_token  TEXT    NOT NULL,
  token_hash     TEXT    NOT NULL UNIQUE,
  status         TEXT    NOT NULL DEFAULT 'stopped',
  last_active_at BIGINT,
  config         TEXT    NOT NULL DEFAULT '{}',
  created_at     BIGINT  NOT NULL,
  updated_at     BIGINT  NOT NULL
);

CREATE FUNCTION berth_container_token_hash_unique() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1651663976, hashtext(NEW.token_hash));
  IF TG_TABLE_NAME = 'user_containers' THEN
    IF EXISTS (SELECT 1 FROM system_containers WHERE token_hash = NEW.token_hash) THEN
      RAISE EXCEPTION 'container token hash already exists'
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'system_containers_token_hash_key';
    END IF;
  ELSIF EXISTS (SELECT 1 FROM user_containers WHERE token_hash = NEW.token_hash) THEN
    RAISE EXCEPTION 'container token hash already exists'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'user_containers_token_hash_key';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER user_containers_token_hash BEFORE INSERT OR UPDATE OF token_hash
  ON user_containers FOR EACH ROW EXECUTE FUNCTION berth_container_token_hash_unique();
CREATE TRIGGER system_containers_token_hash BEFORE INSERT OR UPDATE OF token_hash
  ON system_containers FOR EACH ROW EXECUTE FUNCTION berth_container_token_hash_unique();

CREATE TABLE berth_meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO berth_meta (key, value)
  VALUES ('instance_id', replace(gen_random_uuid()::text, '-', ''));
)sql";

// Coordination of replicas (coordination.hpp): lease rows with fencing epochs (judged by the
// server's clock) and the change feed every replica polls.
constexpr const char* kReplicas = R"sql(
CREATE TABLE leases (
  name     TEXT   NOT NULL PRIMARY KEY,
  holder   TEXT   NOT NULL,
  epoch    BIGINT NOT NULL,
  until_ms BIGINT NOT NULL
);
CREATE TABLE changes (
  seq     BIGSERIAL PRIMARY KEY,
  kind    TEXT   NOT NULL,
  subject TEXT   NOT NULL,
  at_ms   BIGINT NOT NULL
);
CREATE INDEX changes_at_idx ON changes (at_ms);
)sql";

// A bulk writer (`berth db copy`, PostgresStore::WriteSnapshot) inserts thousands of containers
// in one transaction; an advisory lock per row would fill the server's lock table, which all
// sessions share and which holds max_locks_per_transaction x (max_connections + ~22) entries
// plus what spare shared memory lends it (53200 "out of shared memory": on an idle default
// PostgreSQL 15 from ~13,000 containers, sooner while other sessions hold locks).
// A transaction that sets `SET LOCAL berth.bulk_copy = 'on'` instead holds both container tables
// in SHARE ROW EXCLUSIVE mode: no other transaction writes either table until it ends, so the
// check sees every competing row. It should take that lock before its first write (as
// WriteSnapshot does); the function takes it too, so the flag alone can never skip the
// serialisation, and taking a held lock again is cheap (the backend's local lock table).
// Other writers keep the per-hash advisory lock, so writers of different hashes run at once.
constexpr const char* kBulkTokenHashCheck = R"sql(
CREATE OR REPLACE FUNCTION berth_container_token_hash_unique() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('berth.bulk_copy', true) = 'on' THEN
    LOCK TABLE user_containers, system_containers IN SHARE ROW EXCLUSIVE MODE;
  ELSE
    PERFORM pg_advisory_xact_lock(1651663976, hashtext(NEW.token_hash));
  END IF;
  IF TG_TABLE_NAME = 'user_containers' THEN
    IF EXISTS (SELECT 1 FROM system_containers WHERE token_hash = NEW.token_hash) THEN
      RAISE EXCEPTION 'container token hash already exists'
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'system_containers_token_hash_key';
    END IF;
  ELSIF EXISTS (SELECT 1 FROM user_containers WHERE token_hash = NEW.token_hash) THEN
    RAISE EXCEPTION 'container token hash already exists'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'user_containers_token_hash_key';
  END IF;
  RETURN NEW;
END
$$;
)sql";

// The node an agent's state lives on (sqlite_migrations.cpp, version 6).
constexpr const char* kAgentNodes = R"sql(
ALTER TABLE user_containers ADD COLUMN node_id TEXT, ADD COLUMN node_name TEXT;
ALTER TABLE system_containers ADD COLUMN node_id TEXT, ADD COLUMN node_name TEXT;
)sql";

// What agents used through berth's LLM gateway, per user, provider, model and UTC day; the
// limits admins set per user, and the budget windows that enforce them (reservations).
constexpr const char* kLlmUsage = R"sql(
CREATE TABLE llm_usage (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  requests BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  cost_nano_usd BIGINT NOT NULL,
  unpriced_requests BIGINT NOT NULL,
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
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at_ms BIGINT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  api TEXT NOT NULL,
  status BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  cost_nano_usd BIGINT NOT NULL,
  priced BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL
);
CREATE INDEX llm_request_log_user ON llm_request_log(user_id, id);
)sql";

constexpr std::array kMigrations = {
    PostgresMigration{3, "initial schema (sqlite versions 1-3)", kInitialSchema},
    PostgresMigration{4, "leases and change feed", kReplicas},
    PostgresMigration{5, "bulk copy without a lock per container", kBulkTokenHashCheck},
    PostgresMigration{6, "agent nodes", kAgentNodes},
    PostgresMigration{7, "llm usage and budgets", kLlmUsage},
    PostgresMigration{8, "llm request log", kLlmRequestLog},
};

// Any fixed key: every berth on one database takes the same one.
constexpr const char* kLock = "SELECT pg_advisory_xact_lock(7596454326855447365)";
constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
constexpr const char* kCurrentVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

}  // namespace

std::span<const PostgresMigration> PostgresMigrations() { return kMigrations; }

Status ApplyPostgresMigrations(PgConnection& conn, std::span<const PostgresMigration> migrations,
                               PgDeadline deadline) {
  BERTH_RETURN_IF_ERROR(migration_rules::CheckOrder(migrations, "postgres"));
  const int64_t latest_known = migrations.back().version;
  auto txn = PgTransaction::Begin(conn, deadline);
  if (!txn.ok()) return txn.status();
  BERTH_RETURN_IF_ERROR(conn.ExecuteOnce(kLock, deadline));
  BERTH_RETURN_IF_ERROR(conn.ExecuteOnce(kCreateMigrationsTable, deadline));
  auto current = conn.ExecuteOnce(kCurrentVersion, deadline);
  if (!current.ok()) return current.status();
  const int64_t version = current->row(0).Int64(0);
  if (version > latest_known) return migration_rules::TooNew(version, latest_known);
  for (const PostgresMigration& migration : migrations) {
    if (migration.version <= version) continue;
    if (Status applied = conn.ExecScript(migration.sql, deadline); !applied.ok()) {
      return Status(applied.code(), "schema migration " + std::to_string(migration.version) + " (" +
                                        migration.name + ") failed: " + applied.message());
    }
    PgParams record;
    record.Bind(1, migration.version);
    record.Bind(2, migration.name);
    record.Bind(3, ToUnixMillis(std::chrono::system_clock::now()));
    BERTH_RETURN_IF_ERROR(conn.Execute(kRecordMigration, record, deadline));
  }
  return txn->Commit();
}

}  // namespace berth::store
