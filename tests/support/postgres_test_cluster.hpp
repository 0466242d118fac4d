#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace berth::testing {

// A throwaway PostgreSQL server for tests (Debian's `postgresql` package: the binaries under
// /usr/lib/postgresql/<version>/bin, or BERTH_POSTGRES_BIN). Start() runs initdb into a fresh
// temp dir (as the `postgres` OS user when the test runs as root: PostgreSQL refuses to run as
// root), then the server on a free port of 127.0.0.1 with its unix socket in that dir:
// superuser `berth`, a random password over TCP, trust over the socket, fsync off. About 2 s.
//
// Destruction stops the server and removes the dir, pass or fail. The server also gets
// SIGQUIT (immediate shutdown) if the test process dies first, as it is started with the parent
// death signal: start clusters from a thread that lives as long as they do (the test's main
// thread). Not thread-safe.
class PostgresTestCluster {
 public:
  // nullptr on failure, with *error saying why (including the server's log). `settings` are
  // extra server settings ("name=value", e.g. "max_locks_per_transaction=10"), passed as `-c`
  // after the defaults above, so they may override them; kept across Restart().
  static std::unique_ptr<PostgresTestCluster> Start(std::string* error,
                                                    std::vector<std::string> settings = {});
  // One cluster for the whole test process, started on first use and stopped at exit.
  static PostgresTestCluster* Shared(std::string* error);

  ~PostgresTestCluster();
  PostgresTestCluster(const PostgresTestCluster&) = delete;
  PostgresTestCluster& operator=(const PostgresTestCluster&) = delete;

  // URL of `database` over TCP with the password, e.g.
  // postgres://berth:<password>@127.0.0.1:<port>/<database>?sslmode=disable; `params` replaces
  // the query string.
  std::string Url(const std::string& database, const std::string& params = "sslmode=disable") const;
  const std::string& password() const { return password_; }
  int port() const { return port_; }

  // Creates an empty database with a fresh name and returns the name ("" with *error).
  std::string CreateDatabase(std::string* error);
  // Drops it, disconnecting its sessions.
  void DropDatabase(const std::string& name);

  // Runs `sql` as the superuser on `database` over the unix socket; every row of the last
  // result, NULL as "<null>". On failure returns nothing and sets *error (or fails the test).
  std::vector<std::vector<std::string>> Query(const std::string& database, const std::string& sql,
                                              std::string* error = nullptr) const;

  // Fast shutdown (sessions are disconnected) and start again on the same port and data.
  bool Stop(std::string* error = nullptr);
  bool Restart(std::string* error);
  bool running() const { return pid_ > 0; }

 private:
  PostgresTestCluster() = default;
  bool Spawn(std::string* error);
  bool WaitReady(std::string* error);
  std::string Log() const;

  TempDir dir_;
  std::string bin_;
  std::string password_;
  std::vector<std::string> settings_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

// A fresh database in a cluster for one test, dropped when destroyed.
class PostgresTestDatabase {
 public:
  // REQUIRES: cluster outlives this. name() is empty when creation failed (*error says why).
  PostgresTestDatabase(PostgresTestCluster* cluster, std::string* error);
  ~PostgresTestDatabase();
  PostgresTestDatabase(const PostgresTestDatabase&) = delete;
  PostgresTestDatabase& operator=(const PostgresTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string Url(const std::string& params = "sslmode=disable") const {
    return cluster_->Url(name_, params);
  }

 private:
  PostgresTestCluster* cluster_;
  std::string name_;
};

}  // namespace berth::testing
