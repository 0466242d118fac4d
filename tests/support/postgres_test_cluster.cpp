#include "support/postgres_test_cluster.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The newest /usr/lib/postgresql/<version>/bin holding a server, or BERTH_POSTGRES_BIN.
std::string FindBinaries() {
  if (const char* env = std::getenv("BERTH_POSTGRES_BIN"); env && *env) return env;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = (entry.path() / "bin").string();
    const int version = std::atoi(entry.path().filename().c_str());
    if (fs::exists(bin + "/postgres") && fs::exists(bin + "/initdb") && version > best_version) {
      best = bin;
      best_version = version;
    }
  }
  return best;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Forks `argv` with output appended to `log`, as uid/gid when `switch_user`; with
// `die_with_parent` it gets SIGQUIT when this thread dies. Returns the child's pid or -1.
pid_t SpawnAs(const std::vector<std::string>& args, const std::string& log, bool switch_user,
              uid_t uid, gid_t gid, bool die_with_parent) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  const int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) ::dup2(in, 0);
  if (switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(126);
  }
  // After the credential change, which would clear it.
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(1);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

int WaitExit(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::unique_ptr<PostgresTestCluster> PostgresTestCluster::Start(std::string* error,
                                                                std::vector<std::string> settings) {
  std::unique_ptr<PostgresTestCluster> c(new PostgresTestCluster());
  c->settings_ = std::move(settings);
  c->bin_ = FindBinaries();
  if (c->bin_.empty()) {
    *error =
        "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the Debian "
        "package postgresql: scripts/install-deps.sh --test) and BERTH_POSTGRES_BIN unset";
    return nullptr;
  }
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      *error = "running as root but there is no 'postgres' user to run PostgreSQL as";
      return nullptr;
    }
    c->switch_user_ = true;
    c->uid_ = pw->pw_uid;
    c->gid_ = pw->pw_gid;
    if (::chown(c->dir_.path().c_str(), c->uid_, c->gid_) != 0) {
      *error = "cannot chown " + c->dir_.path().string();
      return nullptr;
    }
  }
  c->password_ = NewId(12);
  for (char& ch : c->password_) {
    if (ch == '-' || ch == '_') ch = 'x';
  }
  const std::string pwfile = c->dir_.File("pwfile");
  std::ofstream(pwfile) << c->password_ << "\n";
  if (c->switch_user_ && ::chown(pwfile.c_str(), c->uid_, c->gid_) != 0) {
    *error = "cannot chown the password file";
    return nullptr;
  }
  const pid_t initdb =
      SpawnAs({c->bin_ + "/initdb", "-D", c->dir_.File("data"), "-U", "berth", "--pwfile=" + pwfile,
               "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
               "--no-sync", "--no-instructions"},
              c->dir_.File("initdb.log"), c->switch_user_, c->uid_, c->gid_, false);
  if (initdb < 0 || WaitExit(initdb, std::chrono::seconds(120)) != 0) {
    *error = "initdb failed: " + ReadFile(c->dir_.File("initdb.log"));
    return nullptr;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    c->port_ = FreePort();
    if (c->Spawn(error) && c->WaitReady(error)) return c;
    c->Stop();
  }
  return nullptr;
}

PostgresTestCluster* PostgresTestCluster::Shared(std::string* error) {
  static std::unique_ptr<PostgresTestCluster> shared;
  if (!shared) shared = Start(error);
  return shared.get();
}

PostgresTestCluster::~PostgresTestCluster() {
  if (pid_ > 0) {
    ::kill(pid_, SIGQUIT);  // immediate shutdown: the data is thrown away anyway
    if (WaitExit(pid_, std::chrono::seconds(30)) == -1) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
}

bool PostgresTestCluster::Spawn(std::string* error) {
  std::vector<std::string> settings = {"listen_addresses=127.0.0.1", "fsync=off",
                                       "synchronous_commit=off",     "full_page_writes=off",
                                       "shared_buffers=32MB",        "max_connections=200"};
  settings.insert(settings.end(), settings_.begin(), settings_.end());
  std::vector<std::string> args = {bin_ + "/postgres",    "-D", dir_.File("data"),   "-p",
                                   std::to_string(port_), "-k", dir_.path().string()};
  for (const std::string& setting : settings) {
    args.push_back("-c");
    args.push_back(setting);
  }
  pid_ = SpawnAs(args, dir_.File("server.log"), switch_user_, uid_, gid_, true);
  if (pid_ < 0) {
    if (error) *error = "cannot fork the server";
    return false;
  }
  return true;
}

bool PostgresTestCluster::WaitReady(std::string* error) {
  const std::string conninfo =
      "host=" + dir_.path().string() + " port=" + std::to_string(port_) + " user=berth";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (error) *error = "postgres exited during start: " + Log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (error) *error = "postgres did not answer within 60 s: " + Log();
  return false;
}

std::string PostgresTestCluster::Log() const { return ReadFile(dir_.File("server.log")); }

bool PostgresTestCluster::Stop(std::string* error) {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGINT);  // fast shutdown: sessions are told and disconnected
  const bool stopped = WaitExit(pid_, std::chrono::seconds(60)) != -1;
  if (!stopped) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    if (error) *error = "postgres did not stop within 60 s";
  }
  pid_ = -1;
  return stopped;
}

bool PostgresTestCluster::Restart(std::string* error) {
  Stop();
  return Spawn(error) && WaitReady(error);
}

std::string PostgresTestCluster::Url(const std::string& database, const std::string& params) const {
  return "postgres://berth:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database +
         (params.empty() ? "" : "?" + params);
}

std::string PostgresTestCluster::CreateDatabase(std::string* error) {
  const std::string name =
      "berth_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  std::string failure;
  Query("postgres", "CREATE DATABASE " + name, &failure);
  if (!failure.empty()) {
    *error = failure;
    return "";
  }
  return name;
}

void PostgresTestCluster::DropDatabase(const std::string& name) {
  std::string ignored;
  Query("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", &ignored);
}

std::vector<std::vector<std::string>> PostgresTestCluster::Query(const std::string& database,
                                                                 const std::string& sql,
                                                                 std::string* error) const {
  std::vector<std::vector<std::string>> rows;
  const std::string conninfo = "host=" + dir_.path().string() + " port=" + std::to_string(port_) +
                               " user=berth dbname=" + database;
  PGconn* conn = PQconnectdb(conninfo.c_str());
  auto fail = [&](const std::string& what) {
    if (error) {
      *error = what;
    } else {
      ADD_FAILURE() << sql << ": " << what;
    }
  };
  if (PQstatus(conn) != CONNECTION_OK) {
    fail(PQerrorMessage(conn));
    PQfinish(conn);
    return rows;
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    fail(PQresultErrorMessage(result));
  } else {
    for (int r = 0; r < PQntuples(result); ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < PQnfields(result); ++c) {
        row.emplace_back(PQgetisnull(result, r, c) ? "<null>" : PQgetvalue(result, r, c));
      }
      rows.push_back(std::move(row));
    }
  }
  PQclear(result);
  PQfinish(conn);
  return rows;
}

PostgresTestDatabase::PostgresTestDatabase(PostgresTestCluster* cluster, std::string* error)
    : cluster_(cluster), name_(cluster->CreateDatabase(error)) {}

PostgresTestDatabase::~PostgresTestDatabase() {
  if (!name_.empty()) cluster_->DropDatabase(name_);
}

}  // namespace berth::testing
