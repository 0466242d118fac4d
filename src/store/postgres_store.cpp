#include "store/postgres_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <type_traits>
#include <utility>

#include "store/postgres_connection.hpp"
#include "store/postgres_migrations.hpp"
#include "store/postgres_pool.hpp"
#include "store/postgres_queries.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/record_rows.hpp"
#include "store/store_errors.hpp"

namespace berth::store {
namespace {

namespace q = postgres_queries;
using namespace postgres_helpers;  // NOLINT: this file's vocabulary

constexpr auto kNoBind = [](PgParams&) {};

// Status of a write that must change exactly one row.
Status ExpectOneRow(const Result<PgResult>& changed, const char* not_found) {
  if (!changed.ok()) return changed.status();
  if (changed->affected() == 0) return NotFound(not_found);
  return Status::Ok();
}

// A text[] literal of `values`, each element quoted: {"a","b"}.
std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// The AgentConfigSource whose first row is `first` (columns as kLoadAgentConfigSources').
AgentConfigSource ReadConfigSourceHead(const PgRow& first) {
  AgentConfigSource source;
  source.container.kind = first.Int64(0) == 0 ? ContainerKind::kUser : ContainerKind::kSystem;
  source.container.id = first.Text(1);
  source.container.token_hash = first.Text(2);
  source.primary_model = first.OptionalText(4);
  source.container.gateway_token = first.Text(17);
  if (source.container.kind == ContainerKind::kUser) source.user_id = first.Text(3);
  return source;
}

// Adds row's provider (columns from 5) to a user container's source; NULL when none is active.
void AddConfigSourceProvider(const PgRow& row, AgentConfigSource& source) {
  if (source.container.kind != ContainerKind::kUser || row.IsNull(5)) return;
  source.active_providers.push_back(rows::ReadProvider(row, /*first=*/5));
}

}  // namespace

// ---- lifecycle -----------------------------------------------------------------------------

Result<std::shared_ptr<PostgresStore>> PostgresStore::Open(PostgresStoreOptions options) {
  const auto now = std::chrono::steady_clock::now();
  auto first = PgConnection::Open(options.conninfo, options.display, options.query_timeout,
                                  now + options.query_timeout);
  if (!first.ok()) return first.status();
  // Migrations may wait for another replica's: a longer statement_timeout for them only.
  const auto migration_deadline = now + options.migration_timeout;
  BERTH_RETURN_IF_ERROR((*first)->ExecuteOnce(
      "SET statement_timeout = " + std::to_string(options.migration_timeout.count()),
      migration_deadline));
  BERTH_RETURN_IF_ERROR(ApplyPostgresMigrations(**first, PostgresMigrations(), migration_deadline));
  BERTH_RETURN_IF_ERROR((*first)->ExecuteOnce(
      "SET statement_timeout = " + std::to_string(options.query_timeout.count()),
      migration_deadline));

  PgPool::Options pool_options;
  pool_options.conninfo = options.conninfo;
  pool_options.display = options.display;
  pool_options.max_connections = std::max<std::size_t>(1, options.max_connections);
  pool_options.statement_timeout = options.query_timeout;
  spdlog::info("postgres: using {} (up to {} connections, {} ms per call)", options.display,
               pool_options.max_connections, options.query_timeout.count());
  auto pool = std::make_unique<PgPool>(std::move(pool_options), std::move(*first));
  return std::shared_ptr<PostgresStore>(new PostgresStore(std::move(pool), options.query_timeout));
}

PostgresStore::PostgresStore(std::unique_ptr<PgPool> pool, std::chrono::milliseconds query_timeout)
    : pool_(std::move(pool)), query_timeout_(query_timeout) {}

PostgresStore::~PostgresStore() = default;

std::chrono::steady_clock::time_point PostgresStore::Deadline() const {
  return std::chrono::steady_clock::now() + query_timeout_;
}

Status PostgresStore::Ping() {
  auto pong = Run(*pool_, Deadline(), q::kPing, kNoBind);
  if (!pong.ok()) return pong.status();
  if (pong->rows() != 1) return Internal("postgres: ping answered no row");
  return Status::Ok();
}

Result<std::string> PostgresStore::InstanceId() {
  return QueryOne(
      *pool_, Deadline(), q::kSelectInstanceId, kNoBind, [](const PgRow& r) { return r.Text(0); },
      "database has no instance id");
}

// ---- users ---------------------------------------------------------------------------------

Status PostgresStore::CreateUser(const User& user) {
  auto changed =
      Run(*pool_, Deadline(), q::kInsertUser, [&](PgParams& p) { rows::BindUser(p, user); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainUserInsert(changed.status(), user);
}

Result<User> PostgresStore::GetUser(const std::string& id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetUser, [&](PgParams& p) { p.Bind(1, id); }, ReadUser,
      "user not found");
}

Result<std::vector<User>> PostgresStore::ListUsers() {
  return QueryAll(*pool_, Deadline(), q::kListUsers, kNoBind, ReadUser);
}

Status PostgresStore::DeleteUser(const std::string& id) {
  return ExpectOneRow(Run(*pool_, Deadline(), q::kDeleteUser,
                          [&](PgParams& p) {
                            p.Bind(1, id);
                            p.Bind(2, kChangeUserDeleted);
                          }),
                      "user not found");
}

// ---- api tokens ----------------------------------------------------------------------------

Status PostgresStore::CreateApiToken(const ApiToken& token) {
  auto user_id = rows::TokenOwner(token);
  if (!user_id.ok()) return user_id.status();
  auto changed = Run(*pool_, Deadline(), q::kInsertApiToken, [&](PgParams& p) {
    rows::BindApiToken(p, token, *user_id, /*with_last_use=*/false);
  });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainApiTokenInsert(changed.status(), token);
}

Result<ApiToken> PostgresStore::FindApiTokenByHash(const std::string& token_hash) {
  return QueryOne(
      *pool_, Deadline(), q::kFindApiTokenByHash, [&](PgParams& p) { p.Bind(1, token_hash); },
      ReadApiToken, "api token not found");
}

Result<ApiToken> PostgresStore::GetApiToken(const std::string& id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetApiToken, [&](PgParams& p) { p.Bind(1, id); }, ReadApiToken,
      "api token not found");
}

Result<std::vector<ApiToken>> PostgresStore::ListApiTokens(
    TokenRole role, const std::optional<std::string>& user_id) {
  if (role == TokenRole::kAdmin) {
    return QueryAll(*pool_, Deadline(), q::kListAdminApiTokens, kNoBind, ReadApiToken);
  }
  if (!user_id) return InvalidArgument("listing user api tokens needs a user_id");
  return QueryAll(
      *pool_, Deadline(), q::kListUserApiTokens, [&](PgParams& p) { p.Bind(1, *user_id); },
      ReadApiToken);
}

Status PostgresStore::DeleteApiToken(const std::string& id) {
  return ExpectOneRow(Run(*pool_, Deadline(), q::kDeleteApiToken,
                          [&](PgParams& p) {
                            p.Bind(1, id);
                            p.Bind(2, kChangeTokenRevoked);
                          }),
                      "api token not found");
}

Result<bool> PostgresStore::HasAdminToken() {
  return QueryOne(
      *pool_, Deadline(), q::kHasAdminToken, kNoBind, [](const PgRow& r) { return r.Bool(0); },
      "no row");
}

Status PostgresStore::RecordTokenUse(const std::vector<std::pair<std::string, int64_t>>& stamps) {
  return ApplyStamps(q::kRecordTokenUse, stamps);
}

Status PostgresStore::ApplyStamps(const char* sql,
                                  const std::vector<std::pair<std::string, int64_t>>& stamps) {
  if (stamps.empty()) return Status::Ok();
  // The highest stamp per id, in id order: concurrent batches lock rows in one order.
  std::map<std::string, int64_t> highest;
  for (const auto& [id, stamp] : stamps) {
    auto [it, inserted] = highest.emplace(id, stamp);
    if (!inserted) it->second = std::max(it->second, stamp);
  }
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Status {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    for (const auto& [id, stamp] : highest) {
      PgParams p;
      p.Bind(1, id);
      p.Bind(2, stamp);
      BERTH_RETURN_IF_ERROR(conn.Execute(sql, p, deadline));
    }
    return txn->Commit();
  });
}

// ---- providers -----------------------------------------------------------------------------

Status PostgresStore::CreateProvider(const LlmProvider& provider) {
  auto changed = Run(*pool_, Deadline(), q::kInsertProvider,
                     [&](PgParams& p) { rows::BindProvider(p, provider, /*for_update=*/false); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainProviderWrite(changed.status(), provider, /*insert=*/true);
}

Status PostgresStore::CreateProviderCapped(const LlmProvider& provider, std::size_t max_per_user) {
  const auto deadline = Deadline();
  auto inserted = WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Result<int64_t> {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    PgParams owner;
    owner.Bind(1, provider.user_id);
    BERTH_RETURN_IF_ERROR(conn.Execute(q::kLockUser, owner, deadline));
    PgParams p;
    rows::BindProvider(p, provider, /*for_update=*/false);
    p.Bind(13, static_cast<int64_t>(max_per_user));
    auto changed = conn.Execute(q::kInsertProviderCapped, p, deadline);
    if (!changed.ok()) return changed.status();
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return changed->affected();
  });
  if (!inserted.ok()) {
    return errors::ExplainProviderWrite(inserted.status(), provider, /*insert=*/true);
  }
  if (*inserted == 0) {
    return ResourceExhausted("this user has " + std::to_string(max_per_user) +
                             " providers, the most allowed");
  }
  return Status::Ok();
}

Result<LlmProvider> PostgresStore::GetProvider(const std::string& user_id, const std::string& id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetProvider,
      [&](PgParams& p) {
        p.Bind(1, id);
        p.Bind(2, user_id);
      },
      ReadProvider, "provider not found");
}

Result<std::vector<LlmProvider>> PostgresStore::ListProviders(const std::string& user_id,
                                                              bool active_only) {
  return QueryAll(
      *pool_, Deadline(), active_only ? q::kListActiveProviders : q::kListProviders,
      [&](PgParams& p) { p.Bind(1, user_id); }, ReadProvider);
}

Status PostgresStore::UpdateProvider(const LlmProvider& provider) {
  auto changed = Run(*pool_, Deadline(), q::kUpdateProvider,
                     [&](PgParams& p) { rows::BindProvider(p, provider, /*for_update=*/true); });
  if (!changed.ok()) {
    return errors::ExplainProviderWrite(changed.status(), provider, /*insert=*/false);
  }
  return ExpectOneRow(changed, "provider not found");
}

Status PostgresStore::DeleteProvider(const std::string& user_id, const std::string& id) {
  return ExpectOneRow(Run(*pool_, Deadline(), q::kDeleteProvider,
                          [&](PgParams& p) {
                            p.Bind(1, id);
                            p.Bind(2, user_id);
                          }),
                      "provider not found");
}

// ---- agent config --------------------------------------------------------------------------

Result<UserAgentConfig> PostgresStore::GetAgentConfig(const std::string& user_id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetAgentConfig, [&](PgParams& p) { p.Bind(1, user_id); },
      ReadAgentConfig, "agent config not found");
}

Status PostgresStore::UpsertAgentConfig(const UserAgentConfig& config) {
  auto changed = Run(*pool_, Deadline(), q::kUpsertAgentConfig,
                     [&](PgParams& p) { rows::BindAgentConfig(p, config); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainAgentConfigWrite(changed.status());
}

// ---- user containers -----------------------------------------------------------------------

Status PostgresStore::CreateUserContainer(const UserContainer& c) {
  auto changed = Run(*pool_, Deadline(), q::kInsertUserContainer,
                     [&](PgParams& p) { rows::BindUserContainerInsert(p, c); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainUserContainerWrite(changed.status(), c, /*insert=*/true);
}

Result<UserContainer> PostgresStore::GetUserContainer(const std::string& id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetUserContainer, [&](PgParams& p) { p.Bind(1, id); },
      ReadUserContainer, "container record not found");
}

Result<UserContainer> PostgresStore::GetUserContainerByUser(const std::string& user_id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetUserContainerByUser, [&](PgParams& p) { p.Bind(1, user_id); },
      ReadUserContainer, "container record not found");
}

Result<std::vector<UserContainer>> PostgresStore::ListUserContainers() {
  return QueryAll(*pool_, Deadline(), q::kListUserContainers, kNoBind, ReadUserContainer);
}

Status PostgresStore::UpdateUserContainer(const UserContainer& c) {
  auto changed = Run(*pool_, Deadline(), q::kUpdateUserContainer,
                     [&](PgParams& p) { rows::BindUserContainerUpdate(p, c); });
  if (!changed.ok()) {
    return errors::ExplainUserContainerWrite(changed.status(), c, /*insert=*/false);
  }
  return ExpectOneRow(changed, "container record not found");
}

Status PostgresStore::SetUserContainerIdleTimeout(const std::string& user_id, int idle_timeout_min,
                                                  int64_t updated_at) {
  return ExpectOneRow(Run(*pool_, Deadline(), q::kSetUserContainerIdleTimeout,
                          [&](PgParams& p) {
                            p.Bind(1, user_id);
                            p.Bind(2, idle_timeout_min);
                            p.Bind(3, updated_at);
                          }),
                      "container record not found");
}

Status PostgresStore::RecordUserActivity(
    const std::vector<std::pair<std::string, int64_t>>& stamps) {
  return ApplyStamps(q::kRecordUserActivity, stamps);
}

// ---- system containers ---------------------------------------------------------------------

Status PostgresStore::CreateSystemContainer(const SystemContainer& c) {
  auto changed = Run(*pool_, Deadline(), q::kInsertSystemContainer,
                     [&](PgParams& p) { rows::BindSystemContainer(p, c, /*for_update=*/false); });
  if (changed.ok()) return Status::Ok();
  return errors::ExplainSystemContainerWrite(changed.status(), c, /*insert=*/true);
}

Result<SystemContainer> PostgresStore::GetSystemContainer(const std::string& id) {
  return QueryOne(
      *pool_, Deadline(), q::kGetSystemContainer, [&](PgParams& p) { p.Bind(1, id); },
      ReadSystemContainer, "system container not found");
}

Result<std::vector<SystemContainer>> PostgresStore::ListSystemContainers() {
  return QueryAll(*pool_, Deadline(), q::kListSystemContainers, kNoBind, ReadSystemContainer);
}

Status PostgresStore::UpdateSystemContainer(const SystemContainer& c) {
  auto changed = Run(*pool_, Deadline(), q::kUpdateSystemContainer,
                     [&](PgParams& p) { rows::BindSystemContainer(p, c, /*for_update=*/true); });
  if (!changed.ok()) {
    return errors::ExplainSystemContainerWrite(changed.status(), c, /*insert=*/false);
  }
  return ExpectOneRow(changed, "system container not found");
}

Status PostgresStore::DeleteSystemContainer(const std::string& id) {
  return ExpectOneRow(
      Run(*pool_, Deadline(), q::kDeleteSystemContainer, [&](PgParams& p) { p.Bind(1, id); }),
      "system container not found");
}

// ---- token lookup and key rotation ---------------------------------------------------------

Result<AgentConfigSource> PostgresStore::LoadAgentConfigSource(const std::string& token_hash) {
  auto found = LoadAgentConfigSources({token_hash});
  if (!found.ok()) return found.status();
  if (found->empty() || !found->front().has_value()) return NotFound("container token not found");
  return std::move(*found->front());
}

Result<std::vector<std::optional<AgentConfigSource>>> PostgresStore::LoadAgentConfigSources(
    const std::vector<std::string>& token_hashes) {
  std::vector<std::string> unique = token_hashes;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  auto found = Run(*pool_, Deadline(), q::kLoadAgentConfigSources,
                   [&](PgParams& p) { p.Bind(1, TextArrayLiteral(unique)); });
  if (!found.ok()) return found.status();
  std::map<std::string, AgentConfigSource> by_hash;
  AgentConfigSource* current = nullptr;
  for (int i = 0; i < found->rows(); ++i) {
    const PgRow row = found->row(i);
    if (current == nullptr || current->container.token_hash != row.Text(2)) {
      AgentConfigSource head = ReadConfigSourceHead(row);
      std::string hash = head.container.token_hash;
      current = &by_hash.insert_or_assign(std::move(hash), std::move(head)).first->second;
    }
    AddConfigSourceProvider(row, *current);
  }
  std::vector<std::optional<AgentConfigSource>> out;
  out.reserve(token_hashes.size());
  for (const std::string& hash : token_hashes) {
    auto it = by_hash.find(hash);
    if (it == by_hash.end()) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

Result<std::vector<StoredSecret>> PostgresStore::ListSecrets() {
  return QueryAll(*pool_, Deadline(), q::kListSecrets, kNoBind,
                  [](const PgRow& r) { return rows::ReadSecret(r); });
}

Result<bool> PostgresStore::ReplaceSecret(const StoredSecret& secret,
                                          const std::string& new_value) {
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
  auto changed = Run(*pool_, Deadline(), sql, [&](PgParams& p) {
    p.Bind(1, secret.row_id);
    p.Bind(2, new_value);
    p.Bind(3, secret.value);
  });
  if (!changed.ok()) return changed.status();
  return changed->affected() == 1;
}

}  // namespace berth::store
