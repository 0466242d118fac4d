#include "store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "store/record_rows.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_migrations.hpp"
#include "store/sqlite_pool.hpp"
#include "store/sqlite_queries.hpp"
#include "store/sqlite_statement.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/store_errors.hpp"

namespace berth::store {
namespace {

namespace fs = std::filesystem;
namespace q = sqlite_queries;
using namespace sqlite_helpers;  // NOLINT: this file's vocabulary

// ---- opening -------------------------------------------------------------------------------

std::string ErrnoText(int err) { return std::strerror(err); }

// Creates `dir` and its missing ancestors with mode 0700 (before umask).
Status EnsureDirectory(const fs::path& dir) {
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    BERTH_RETURN_IF_ERROR(EnsureDirectory(dir.parent_path()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("cannot create database directory '" + dir.string() +
                       "': " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Creates the database file with mode 0600 when missing (an empty file is a valid empty
// database). SQLite would otherwise create it 0644; it copies the main file's mode onto its
// -wal and -shm files.
Status EnsureDatabaseFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable("cannot open database file '" + path.string() + "': " + ErrnoText(errno));
  }
  ::close(fd);
  return Status::Ok();
}

constexpr auto kNoBind = [](SqliteStatement&) {};

// Status of a write that must change exactly one row.
Status ExpectOneRow(const Result<int64_t>& changed, const char* not_found) {
  if (!changed.ok()) return changed.status();
  if (*changed == 0) return NotFound(not_found);
  return Status::Ok();
}

}  // namespace

// ---- lifecycle -----------------------------------------------------------------------------

Result<std::shared_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       SqliteStoreOptions options) {
  if (path.empty()) return InvalidArgument("sqlite database path is empty");
  if (path == ":memory:") {
    return InvalidArgument("sqlite in-memory databases are not supported; give a file path");
  }
  if (sqlite3_threadsafe() == 0) {
    return Internal("sqlite: the linked library was built without thread support");
  }
  // Pool connections are opened lazily, possibly after a chdir: pin the path now.
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return Unavailable("cannot resolve database path '" + path + "': " + ec.message());
  BERTH_RETURN_IF_ERROR(EnsureDirectory(absolute.parent_path()));
  BERTH_RETURN_IF_ERROR(EnsureDatabaseFile(absolute));

  auto first = SqliteConnection::Open(absolute.string(), options.busy_timeout);
  if (!first.ok()) return first.status();
  BERTH_RETURN_IF_ERROR(ApplySqliteMigrations(**first, SqliteMigrations()));

  SqlitePool::Options pool_options;
  pool_options.max_connections = options.max_connections;
  pool_options.busy_timeout = options.busy_timeout;
  pool_options.acquire_timeout = options.acquire_timeout;
  auto pool = std::make_unique<SqlitePool>(absolute.string(), pool_options, std::move(*first));
  return std::shared_ptr<SqliteStore>(new SqliteStore(std::move(pool)));
}

SqliteStore::SqliteStore(std::unique_ptr<SqlitePool> pool) : pool_(std::move(pool)) {}

SqliteStore::~SqliteStore() = default;

Status SqliteStore::Ping() {
  return WithConnection(*pool_, [](SqliteConnection& conn) -> Status {
    auto stmt = conn.Prepare(q::kPing);
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Internal("sqlite: ping answered no row");
    return Status::Ok();
  });
}

// ---- users ---------------------------------------------------------------------------------

Status SqliteStore::CreateUser(const User& user) {
  auto changed =
      Write(*pool_, q::kInsertUser, [&](SqliteStatement& s) { rows::BindUser(s, user); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainUserInsert(changed.status(), user);
}

Result<User> SqliteStore::GetUser(const std::string& id) {
  return QueryOne(
      *pool_, q::kGetUser, [&](SqliteStatement& s) { s.Bind(1, id); }, ReadUser, "user not found");
}

Result<std::vector<User>> SqliteStore::ListUsers() {
  return QueryAll(*pool_, q::kListUsers, kNoBind, ReadUser);
}

Status SqliteStore::DeleteUser(const std::string& id) {
  // ON DELETE CASCADE removes tokens, providers, agent config and container record in the
  // same transaction.
  return DeleteNoting(q::kDeleteUser, id, kChangeUserDeleted, "user not found");
}

// ---- api tokens ----------------------------------------------------------------------------

Status SqliteStore::CreateApiToken(const ApiToken& token) {
  auto user_id = rows::TokenOwner(token);
  if (!user_id.ok()) return user_id.status();
  auto changed = Write(*pool_, q::kInsertApiToken, [&](SqliteStatement& s) {
    rows::BindApiToken(s, token, *user_id, /*with_last_use=*/false);
  });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainApiTokenInsert(changed.status(), token);
}

Result<ApiToken> SqliteStore::FindApiTokenByHash(const std::string& token_hash) {
  return QueryOne(
      *pool_, q::kFindApiTokenByHash, [&](SqliteStatement& s) { s.Bind(1, token_hash); },
      ReadApiToken, "api token not found");
}

Result<ApiToken> SqliteStore::GetApiToken(const std::string& id) {
  return QueryOne(
      *pool_, q::kGetApiToken, [&](SqliteStatement& s) { s.Bind(1, id); }, ReadApiToken,
      "api token not found");
}

Result<std::vector<ApiToken>> SqliteStore::ListApiTokens(
    TokenRole role, const std::optional<std::string>& user_id) {
  if (role == TokenRole::kAdmin)
    return QueryAll(*pool_, q::kListAdminApiTokens, kNoBind, ReadApiToken);
  if (!user_id) return InvalidArgument("listing user api tokens needs a user_id");
  return QueryAll(
      *pool_, q::kListUserApiTokens, [&](SqliteStatement& s) { s.Bind(1, *user_id); },
      ReadApiToken);
}

Status SqliteStore::DeleteApiToken(const std::string& id) {
  return DeleteNoting(q::kDeleteApiToken, id, kChangeTokenRevoked, "api token not found");
}

Status SqliteStore::RecordTokenUse(const std::vector<std::pair<std::string, int64_t>>& stamps) {
  return ApplyStamps(q::kRecordTokenUse, stamps);
}

Status SqliteStore::ApplyStamps(const char* sql,
                                const std::vector<std::pair<std::string, int64_t>>& stamps) {
  if (stamps.empty()) return Status::Ok();
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    for (const auto& [id, stamp] : stamps) {
      auto stmt = conn.Prepare(sql);  // cached: re-preparing is a lookup
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, id);
      stmt->Bind(2, stamp);
      BERTH_RETURN_IF_ERROR(stmt->Run());
    }
    return txn->Commit();
  });
}

Result<std::string> SqliteStore::InstanceId() {
  return QueryOne(
      *pool_, q::kSelectInstanceId, kNoBind, [](const SqliteStatement& s) { return s.Text(0); },
      "database has no instance id");
}

Result<bool> SqliteStore::HasAdminToken() {
  return QueryOne(
      *pool_, q::kHasAdminToken, kNoBind, [](const SqliteStatement& s) { return s.Int64(0) != 0; },
      "no row");
}

// ---- providers -----------------------------------------------------------------------------

Status SqliteStore::CreateProvider(const LlmProvider& p) {
  return InsertProvider(q::kInsertProvider, p, std::nullopt);
}

Status SqliteStore::CreateProviderCapped(const LlmProvider& p, std::size_t max_per_user) {
  return InsertProvider(q::kInsertProviderCapped, p, max_per_user);
}

Status SqliteStore::InsertProvider(const char* sql, const LlmProvider& p,
                                   std::optional<std::size_t> cap) {
  auto changed = Write(*pool_, sql, [&](SqliteStatement& s) {
    rows::BindProvider(s, p, /*for_update=*/false);
    if (cap) s.Bind(13, static_cast<int64_t>(*cap));
  });
  if (changed.ok() && *changed == 0 && cap) {
    return ResourceExhausted("this user has " + std::to_string(*cap) +
                             " providers, the most allowed");
  }
  if (changed.ok()) return Status::Ok();
  return errors::ExplainProviderWrite(changed.status(), p, /*insert=*/true);
}

Result<LlmProvider> SqliteStore::GetProvider(const std::string& user_id, const std::string& id) {
  return QueryOne(
      *pool_, q::kGetProvider,
      [&](SqliteStatement& s) {
        s.Bind(1, id);
        s.Bind(2, user_id);
      },
      ReadProvider, "provider not found");
}

Result<std::vector<LlmProvider>> SqliteStore::ListProviders(const std::string& user_id,
                                                            bool active_only) {
  return QueryAll(
      *pool_, active_only ? q::kListActiveProviders : q::kListProviders,
      [&](SqliteStatement& s) { s.Bind(1, user_id); }, ReadProvider);
}

Status SqliteStore::UpdateProvider(const LlmProvider& p) {
  auto changed = Write(*pool_, q::kUpdateProvider,
                       [&](SqliteStatement& s) { rows::BindProvider(s, p, /*for_update=*/true); });
  if (!changed.ok()) return errors::ExplainProviderWrite(changed.status(), p, /*insert=*/false);
  return ExpectOneRow(changed, "provider not found");
}

Status SqliteStore::DeleteProvider(const std::string& user_id, const std::string& id) {
  return ExpectOneRow(Write(*pool_, q::kDeleteProvider,
                            [&](SqliteStatement& s) {
                              s.Bind(1, id);
                              s.Bind(2, user_id);
                            }),
                      "provider not found");
}

// ---- agent config --------------------------------------------------------------------------

Result<UserAgentConfig> SqliteStore::GetAgentConfig(const std::string& user_id) {
  return QueryOne(
      *pool_, q::kGetAgentConfig, [&](SqliteStatement& s) { s.Bind(1, user_id); }, ReadAgentConfig,
      "agent config not found");
}

Status SqliteStore::UpsertAgentConfig(const UserAgentConfig& config) {
  auto changed = Write(*pool_, q::kUpsertAgentConfig,
                       [&](SqliteStatement& s) { rows::BindAgentConfig(s, config); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainAgentConfigWrite(changed.status());
}

// ---- user containers -----------------------------------------------------------------------

Status SqliteStore::CreateUserContainer(const UserContainer& c) {
  auto changed = Write(*pool_, q::kInsertUserContainer,
                       [&](SqliteStatement& s) { rows::BindUserContainerInsert(s, c); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainUserContainerWrite(changed.status(), c, /*insert=*/true);
}

Result<UserContainer> SqliteStore::GetUserContainer(const std::string& id) {
  return QueryOne(
      *pool_, q::kGetUserContainer, [&](SqliteStatement& s) { s.Bind(1, id); }, ReadUserContainer,
      "container record not found");
}

Result<UserContainer> SqliteStore::GetUserContainerByUser(const std::string& user_id) {
  return QueryOne(
      *pool_, q::kGetUserContainerByUser, [&](SqliteStatement& s) { s.Bind(1, user_id); },
      ReadUserContainer, "container record not found");
}

Result<std::vector<UserContainer>> SqliteStore::ListUserContainers() {
  return QueryAll(*pool_, q::kListUserContainers, kNoBind, ReadUserContainer);
}

Status SqliteStore::UpdateUserContainer(const UserContainer& c) {
  auto changed = Write(*pool_, q::kUpdateUserContainer,
                       [&](SqliteStatement& s) { rows::BindUserContainerUpdate(s, c); });
  if (!changed.ok()) {
    return errors::ExplainUserContainerWrite(changed.status(), c, /*insert=*/false);
  }
  return ExpectOneRow(changed, "container record not found");
}

Status SqliteStore::SetUserContainerIdleTimeout(const std::string& user_id, int idle_timeout_min,
                                                int64_t updated_at) {
  return ExpectOneRow(Write(*pool_, q::kSetUserContainerIdleTimeout,
                            [&](SqliteStatement& s) {
                              s.Bind(1, user_id);
                              s.Bind(2, idle_timeout_min);
                              s.Bind(3, updated_at);
                            }),
                      "container record not found");
}

Status SqliteStore::RecordUserActivity(const std::vector<std::pair<std::string, int64_t>>& stamps) {
  return ApplyStamps(q::kRecordUserActivity, stamps);
}

// ---- system containers ---------------------------------------------------------------------

Status SqliteStore::CreateSystemContainer(const SystemContainer& c) {
  auto changed = Write(*pool_, q::kInsertSystemContainer, [&](SqliteStatement& s) {
    rows::BindSystemContainer(s, c, /*for_update=*/false);
  });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainSystemContainerWrite(changed.status(), c, /*insert=*/true);
}

Result<SystemContainer> SqliteStore::GetSystemContainer(const std::string& id) {
  return QueryOne(
      *pool_, q::kGetSystemContainer, [&](SqliteStatement& s) { s.Bind(1, id); },
      ReadSystemContainer, "system container not found");
}

Result<std::vector<SystemContainer>> SqliteStore::ListSystemContainers() {
  return QueryAll(*pool_, q::kListSystemContainers, kNoBind, ReadSystemContainer);
}

Status SqliteStore::UpdateSystemContainer(const SystemContainer& c) {
  auto changed = Write(*pool_, q::kUpdateSystemContainer, [&](SqliteStatement& s) {
    rows::BindSystemContainer(s, c, /*for_update=*/true);
  });
  if (!changed.ok()) {
    return errors::ExplainSystemContainerWrite(changed.status(), c, /*insert=*/false);
  }
  return ExpectOneRow(changed, "system container not found");
}

Status SqliteStore::DeleteSystemContainer(const std::string& id) {
  return ExpectOneRow(
      Write(*pool_, q::kDeleteSystemContainer, [&](SqliteStatement& s) { s.Bind(1, id); }),
      "system container not found");
}

// ---- token lookup and key rotation ---------------------------------------------------------

Result<AgentConfigSource> SqliteStore::LoadAgentConfigSource(const std::string& token_hash) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<AgentConfigSource> {
    auto step_once = [&](const char* sql) -> Status {
      auto stmt = conn.Prepare(sql);
      if (!stmt.ok()) return stmt.status();
      auto row = stmt->Step();
      return row.ok() ? Status::Ok() : row.status();
    };
    // A deferred transaction takes one read snapshot for both statements instead of one each.
    BERTH_RETURN_IF_ERROR(step_once(q::kBeginRead));
    auto load = [&]() -> Result<AgentConfigSource> {
      auto stmt = conn.Prepare(q::kFindAgentConfigSource);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, token_hash);
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) return NotFound("container token not found");
      AgentConfigSource source;
      source.container.kind = stmt->Int64(0) == 0 ? ContainerKind::kUser : ContainerKind::kSystem;
      source.container.id = stmt->Text(1);
      source.container.token_hash = stmt->Text(2);
      source.primary_model = stmt->OptionalText(4);
      source.container.gateway_token = stmt->Text(5);
      if (source.container.kind == ContainerKind::kSystem) return source;
      source.user_id = stmt->Text(3);
      auto providers = CollectAll(
          conn, q::kListActiveProviders, [&](SqliteStatement& p) { p.Bind(1, source.user_id); },
          ReadProvider);
      if (!providers.ok()) return providers.status();
      source.active_providers = std::move(*providers);
      return source;
    };
    auto result = load();
    Status end = step_once(
        result.ok() || result.status().code() == ErrorCode::kNotFound ? q::kCommit : q::kRollback);
    if (!end.ok() && result.ok()) return end;
    return result;
  });
}

Result<std::vector<StoredSecret>> SqliteStore::ListSecrets() {
  return QueryAll(*pool_, q::kListSecrets, kNoBind,
                  [](const SqliteStatement& s) { return rows::ReadSecret(s); });
}

Result<bool> SqliteStore::ReplaceSecret(const StoredSecret& secret, const std::string& new_value) {
  const char* sql = q::kReplaceProviderApiKey;
  switch (secret.column) {
    case SecretColumn::kProviderApiKey:
      sql = q::kReplaceProviderApiKey;
      break;
    case SecretColumn::kUserContainerToken:
      sql = q::kReplaceUserContainerToken;
      break;
    case SecretColumn::kSystemContainerToken:
      sql = q::kReplaceSystemContainerToken;
      break;
  }
  auto changed = Write(*pool_, sql, [&](SqliteStatement& s) {
    s.Bind(1, secret.row_id);
    s.Bind(2, new_value);
    s.Bind(3, secret.value);
  });
  if (!changed.ok()) return changed.status();
  return *changed == 1;
}

}  // namespace berth::store
