#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"

namespace berth::store {

// Every PostgreSQL call runs against a deadline on the steady clock.
using PgDeadline = std::chrono::steady_clock::time_point;

// Text-format parameters of one statement, numbered from 1 like $1, $2, ...; a nullopt binds
// NULL. The same Bind overloads as SqliteStatement, so record binders serve both backends.
class PgParams {
 public:
  void Bind(int index, std::string_view value) { Set(index, std::string(value)); }
  void Bind(int index, const std::optional<std::string>& value) { Set(index, value); }
  void Bind(int index, int64_t value) { Set(index, std::to_string(value)); }
  void Bind(int index, const std::optional<int64_t>& value);
  void Bind(int index, int value) { Bind(index, static_cast<int64_t>(value)); }
  void Bind(int index, const std::optional<int>& value);
  void Bind(int index, bool value) { Set(index, std::string(value ? "true" : "false")); }
  void Bind(int index, const char* value) { Bind(index, std::string_view(value)); }
  void Bind(int index, const std::string& value) { Bind(index, std::string_view(value)); }

  int size() const { return static_cast<int>(values_.size()); }
  // libpq's view of the values; valid until the next Bind.
  const char* const* data() const;

 private:
  void Set(int index, std::optional<std::string> value);

  std::vector<std::optional<std::string>> values_;
  mutable std::vector<const char*> pointers_;
};

// One row of a text-format result; accessors as SqliteStatement's (0-based columns, NULL reads
// as "" / 0 / false in the plain forms).
class PgRow {
 public:
  PgRow(const PGresult* result, int row) : result_(result), row_(row) {}
  bool IsNull(int column) const { return PQgetisnull(result_, row_, column) != 0; }
  std::string Text(int column) const;
  std::optional<std::string> OptionalText(int column) const;
  int64_t Int64(int column) const;
  std::optional<int64_t> OptionalInt64(int column) const;
  std::optional<int> OptionalInt(int column) const;
  bool Bool(int column) const;

 private:
  const PGresult* result_;
  int row_;
};

// The owned result of a statement that succeeded.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}
  int rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  PgRow row(int i) const { return PgRow(result_.get(), i); }
  // Rows an INSERT/UPDATE/DELETE changed (0 for other statements).
  int64_t affected() const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// One libpq connection in non-blocking mode, with a cache of prepared statements keyed by
// their SQL text (each prepared once, on first use, under a generated name).
//
// Every call waits for the server only until its deadline; a call that misses it, or finds the
// connection lost, fails with kUnavailable and leaves the connection broken() (the pool then
// discards it; the server's statement_timeout, set at connect, ends whatever it still runs).
// Error mapping (postgres_error.hpp): unique violation kAlreadyExists, foreign key kNotFound,
// connection loss, shutdown, timeouts, deadlocks and serialization failures kUnavailable, the
// rest kInternal; messages never carry parameter values.
//
// Thread-compatible: one thread at a time (PgPool hands it out). handle() is for uses beyond
// statements, e.g. a dedicated LISTEN connection polling PQsocket() and reading PQnotifies().
class PgConnection {
 public:
  // Connects to `conninfo` (a libpq URL or keyword string) and sets the session's
  // statement_timeout. Waits until `deadline` at most, or libpq's connect_timeout when that is
  // set and earlier. `display` (the URL with its password masked) names the server in errors.
  // kUnavailable when the server cannot be reached or refuses the connection.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& conninfo,
                                                    const std::string& display,
                                                    std::chrono::milliseconds statement_timeout,
                                                    PgDeadline deadline);

  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement (exactly one) with `params` via the extended protocol, prepared once.
  Result<PgResult> Execute(std::string_view sql, const PgParams& params, PgDeadline deadline);
  // Runs one parameterless statement without caching it (BEGIN, COMMIT, ROLLBACK, SET ...).
  Result<PgResult> ExecuteOnce(const std::string& sql, PgDeadline deadline);
  // Runs a script of several statements (simple protocol; migrations).
  Status ExecScript(const std::string& sql, PgDeadline deadline);

  bool broken() const { return broken_; }
  // True while a transaction is open (or failed and not yet rolled back).
  bool InTransaction() const;
  // For a connection that sat idle: false when it broke, or when the server sent anything
  // meanwhile (an idle session only hears of its own end). Never blocks.
  bool StillUsable();

  PGconn* handle() const { return conn_; }

 private:
  PgConnection(PGconn* conn, std::string display) : conn_(conn), display_(std::move(display)) {}
  // Flushes what is queued and waits until a result can be read without blocking.
  Status Await(PgDeadline deadline);
  // Reads every result of the statement sent last; the last one, or the first error.
  Result<PgResult> Collect(PgDeadline deadline);
  // Marks the connection unusable; returns kUnavailable saying `what`.
  Status Break(const std::string& what);

  PGconn* conn_;
  std::string display_;
  bool broken_ = false;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// Whether a PostgreSQL server answers at `conninfo`'s address (libpq's PQping, bounded by the
// URL's connect_timeout, default 5 s): true when one is up and accepting connections, even if it
// would refuse this one (a wrong password, a missing role or database, no TLS where sslmode
// requires it); false when nothing answers or the server is starting up or shutting down. The
// probe never sends the URL's password and never asks for TLS, so what it reveals is no more
// than the user and database names.
bool PgServerAnswers(const std::string& conninfo);

// A transaction on one connection; rolled back on destruction unless committed. Move-only;
// must not outlive the connection.
class PgTransaction {
 public:
  // `begin` is the statement opening it, e.g. "BEGIN ISOLATION LEVEL REPEATABLE READ".
  static Result<PgTransaction> Begin(PgConnection& conn, PgDeadline deadline,
                                     const std::string& begin = "BEGIN");
  ~PgTransaction();
  PgTransaction(PgTransaction&& other) noexcept;
  PgTransaction& operator=(PgTransaction&&) = delete;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  Status Commit();

 private:
  PgTransaction(PgConnection* conn, PgDeadline deadline) : conn_(conn), deadline_(deadline) {}
  PgConnection* conn_;  // null once committed or moved from
  PgDeadline deadline_;
};

}  // namespace berth::store
