#include "store/postgres_connection.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "store/postgres_error.hpp"

namespace berth::store {
namespace {

using Clock = std::chrono::steady_clock;

// libpq's last error on `conn`, on one line.
std::string LastError(const PGconn* conn) {
  std::string message = conn ? PQerrorMessage(conn) : "out of memory";
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

// Waits until `fd` is ready for `events` or `deadline` passes: 1 ready, 0 timed out, -1 error.
int WaitFor(int fd, short events, PgDeadline deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60000)));
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return -1;
  }
}

// libpq's effective connect_timeout of a connection being made (0 = none).
int ConnectTimeoutSeconds(PGconn* conn) {
  PQconninfoOption* options = PQconninfo(conn);
  int seconds = 0;
  for (PQconninfoOption* o = options; o && o->keyword; ++o) {
    if (std::string_view(o->keyword) == "connect_timeout" && o->val) seconds = std::atoi(o->val);
  }
  PQconninfoFree(options);
  return seconds;
}

}  // namespace

// ---- parameters and rows -------------------------------------------------------------------

void PgParams::Set(int index, std::optional<std::string> value) {
  if (index < 1) return;
  if (values_.size() < static_cast<std::size_t>(index)) values_.resize(index);
  values_[index - 1] = std::move(value);
}

void PgParams::Bind(int index, const std::optional<int64_t>& value) {
  Set(index, value ? std::optional<std::string>(std::to_string(*value)) : std::nullopt);
}

void PgParams::Bind(int index, const std::optional<int>& value) {
  Set(index, value ? std::optional<std::string>(std::to_string(*value)) : std::nullopt);
}

const char* const* PgParams::data() const {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v ? v->c_str() : nullptr);
  return pointers_.data();
}

std::string PgRow::Text(int column) const {
  return std::string(PQgetvalue(result_, row_, column),
                     static_cast<std::size_t>(PQgetlength(result_, row_, column)));
}

std::optional<std::string> PgRow::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

int64_t PgRow::Int64(int column) const {
  const char* text = PQgetvalue(result_, row_, column);
  int64_t value = 0;
  std::from_chars(text, text + PQgetlength(result_, row_, column), value);
  return value;
}

std::optional<int64_t> PgRow::OptionalInt64(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int64(column);
}

std::optional<int> PgRow::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return static_cast<int>(Int64(column));
}

bool PgRow::Bool(int column) const { return PQgetvalue(result_, row_, column)[0] == 't'; }

int64_t PgResult::affected() const {
  if (!result_) return 0;
  const char* text = PQcmdTuples(result_.get());
  int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

// ---- connection ----------------------------------------------------------------------------

Result<std::unique_ptr<PgConnection>> PgConnection::Open(
    const std::string& conninfo, const std::string& display,
    std::chrono::milliseconds statement_timeout, PgDeadline deadline) {
  // Defaults first: values the URL carries (expanded from "dbname") override them.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "berth", conninfo.c_str(), nullptr};
  PGconn* raw = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  std::unique_ptr<PgConnection> conn(new PgConnection(raw, display));
  auto failed = [&](const std::string& why) {
    return Unavailable("postgres: cannot connect to " + display + ": " + why);
  };
  if (raw == nullptr) return failed("out of memory");
  if (PQstatus(raw) == CONNECTION_BAD) return failed(LastError(raw));
  if (const int seconds = ConnectTimeoutSeconds(raw); seconds > 0) {
    deadline = std::min(deadline, Clock::now() + std::chrono::seconds(std::max(seconds, 2)));
  }
  // libpq's non-blocking connect: it says which way to wait, berth decides how long.
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (polling != PGRES_POLLING_OK) {
    if (polling == PGRES_POLLING_FAILED) return failed(LastError(raw));
    const int ready =
        WaitFor(PQsocket(raw), polling == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (ready == 0) return failed("timed out");
    if (ready < 0) return failed("poll failed");
    polling = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) return failed(LastError(raw));
  // Server notices (e.g. the FATAL of a shutdown) go to the log, not to stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char* message) { spdlog::debug("postgres: {}", message); }, nullptr);
  // The server ends a statement berth stopped waiting for (the client gives up at the same
  // deadline and drops the connection), and a transaction left idle by a vanished client.
  const std::string setup = "SET statement_timeout = " + std::to_string(statement_timeout.count()) +
                            "; SET idle_in_transaction_session_timeout = " +
                            std::to_string(std::max<int64_t>(60000, statement_timeout.count()));
  if (Status st = conn->ExecScript(setup, deadline); !st.ok()) return st;
  return conn;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::InTransaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

bool PgConnection::StillUsable() {
  if (broken_ || PQstatus(conn_) != CONNECTION_OK || InTransaction()) return false;
  // An idle pooled connection hears from the server only when the session is ending
  // (shutdown, pg_terminate_backend, idle timeouts): its FATAL arrives before the socket's
  // end, so whatever is readable means the connection is about to be gone.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Status PgConnection::Break(const std::string& what) {
  broken_ = true;
  return Unavailable("postgres: " + what + " (" + display_ + ")");
}

Status PgConnection::Await(PgDeadline deadline) {
  for (;;) {
    const int flushed = PQflush(conn_);
    if (flushed < 0) return Break("connection lost: " + LastError(conn_));
    if (flushed == 0 && PQisBusy(conn_) == 0) return Status::Ok();
    const short events = flushed == 1 ? (POLLIN | POLLOUT) : POLLIN;
    const int ready = WaitFor(PQsocket(conn_), events, deadline);
    if (ready == 0) return Break("no answer before the query deadline");
    if (ready < 0) return Break("poll failed");
    if (PQconsumeInput(conn_) == 0) return Break("connection lost: " + LastError(conn_));
  }
}

Result<PgResult> PgConnection::Collect(PgDeadline deadline) {
  PgResult last;
  Status error;
  for (;;) {
    BERTH_RETURN_IF_ERROR(Await(deadline));
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    PgResult result(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      if (error.ok()) last = std::move(result);
      continue;
    }
    if (error.ok()) {
      error = PgResultStatus(raw);
      if (PgResultEndsSession(raw)) broken_ = true;
    }
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    if (error.ok()) error = Unavailable("postgres: connection lost: " + LastError(conn_));
  }
  if (!error.ok()) return error;
  return last;
}

Result<PgResult> PgConnection::Execute(std::string_view sql, const PgParams& params,
                                       PgDeadline deadline) {
  if (broken_) return Unavailable("postgres: connection is broken (" + display_ + ")");
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) {
    std::string name = "berth_" + std::to_string(prepared_.size() + 1);
    const std::string text(sql);
    if (PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr) == 0) {
      return Break("sending failed: " + LastError(conn_));
    }
    auto prepared = Collect(deadline);
    if (!prepared.ok()) return prepared.status();
    it = prepared_.emplace(text, std::move(name)).first;
  }
  if (PQsendQueryPrepared(conn_, it->second.c_str(), params.size(), params.data(), nullptr, nullptr,
                          0) == 0) {
    return Break("sending failed: " + LastError(conn_));
  }
  return Collect(deadline);
}

Result<PgResult> PgConnection::ExecuteOnce(const std::string& sql, PgDeadline deadline) {
  if (broken_) return Unavailable("postgres: connection is broken (" + display_ + ")");
  if (PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 0) {
    return Break("sending failed: " + LastError(conn_));
  }
  return Collect(deadline);
}

Status PgConnection::ExecScript(const std::string& sql, PgDeadline deadline) {
  if (broken_) return Unavailable("postgres: connection is broken (" + display_ + ")");
  if (PQsendQuery(conn_, sql.c_str()) == 0) return Break("sending failed: " + LastError(conn_));
  auto done = Collect(deadline);
  return done.ok() ? Status::Ok() : done.status();
}

bool PgServerAnswers(const std::string& conninfo) {
  // After "dbname" (the URL), so these override the URL's own: a password the server may ask
  // for in clear text (no TLS here) must not be the real one, and a failed authentication
  // still proves the server is up.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", "sslmode",
                            "gssencmode",      "password",         nullptr};
  const char* values[] = {"5",       "berth",       conninfo.c_str(), "disable",
                          "disable", "berth-probe", nullptr};
  return PQpingParams(keywords, values, /*expand_dbname=*/1) == PQPING_OK;
}

// ---- transactions --------------------------------------------------------------------------

Result<PgTransaction> PgTransaction::Begin(PgConnection& conn, PgDeadline deadline,
                                           const std::string& begin) {
  auto begun = conn.ExecuteOnce(begin, deadline);
  if (!begun.ok()) return begun.status();
  return PgTransaction(&conn, deadline);
}

PgTransaction::PgTransaction(PgTransaction&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), deadline_(other.deadline_) {}

PgTransaction::~PgTransaction() {
  if (conn_ == nullptr || conn_->broken()) return;
  // A failed rollback leaves the connection broken (or in a transaction): the pool drops it.
  (void)conn_->ExecuteOnce("ROLLBACK", std::max(deadline_, Clock::now() + std::chrono::seconds(1)));
}

Status PgTransaction::Commit() {
  PgConnection* conn = std::exchange(conn_, nullptr);
  auto committed = conn->ExecuteOnce("COMMIT", deadline_);
  return committed.ok() ? Status::Ok() : committed.status();
}

}  // namespace berth::store
