#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/store_snapshot.hpp"

namespace berth::store {

class SqlitePool;

struct SqliteStoreOptions {
  // Upper bound on open connections. SQLite admits one writer at a time (WAL lets readers run
  // alongside it), so more connections add read parallelism only.
  std::size_t max_connections = 8;
  // How long a statement waits for another connection's write lock before kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // How long a call waits for a free connection when all are in use before kUnavailable.
  std::chrono::milliseconds acquire_timeout{10000};
};

// Store backed by one SQLite database file (WAL journal, synchronous=NORMAL, foreign keys on).
//
// Thread-safe: calls borrow a connection from a bounded pool; each connection caches its
// prepared statements. Every method is one statement (hence atomic); deleting a user cascades
// through foreign keys. Per the Store contract no exception escapes and messages never carry
// stored values other than ids and names.
//
// Immutable fields: UpdateProvider keeps id, user_id and created_at; UpdateUserContainer keeps
// user_id, created_at and idle_timeout_min; UpdateSystemContainer keeps created_at;
// UpsertAgentConfig keeps the first created_at.
class SqliteStore final : public SnapshotStore {
 public:
  // Opens (creating when missing) the database at `path`, a filesystem path: absolute, or
  // relative to the working directory (resolved once, here). OpenStore() passes everything after
  // "sqlite://" verbatim, so "sqlite://data/berth.db" is the relative path data/berth.db and
  // "sqlite:///var/lib/berth/berth.db" the absolute /var/lib/berth/berth.db. Missing parent
  // directories are created (mode 0700); a new database file is created with mode 0600, since it
  // holds sealed secrets and token hashes (SQLite gives its -wal and -shm files the same mode).
  // Then applies the schema migrations. Errors: kInvalidArgument for an empty path or ":memory:"
  // (each pooled connection would see its own empty database), or when the file's schema is newer
  // than this binary knows; kUnavailable when the file or directory cannot be created or opened;
  // kInternal otherwise (e.g. the file is not a SQLite database).
  static Result<std::shared_ptr<SqliteStore>> Open(const std::string& path,
                                                   SqliteStoreOptions options = {});

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status Ping() override;
  Result<std::string> InstanceId() override;

  Status CreateUser(const User& user) override;
  Result<User> GetUser(const std::string& id) override;
  Result<std::vector<User>> ListUsers() override;
  Status DeleteUser(const std::string& id) override;

  // kInvalidArgument unless a kUser token has a non-empty user_id and a kAdmin token none.
  Status CreateApiToken(const ApiToken& token) override;
  Result<ApiToken> FindApiTokenByHash(const std::string& token_hash) override;
  Result<bool> HasAdminToken() override;
  Result<std::vector<ApiToken>> ListApiTokens(TokenRole role,
                                              const std::optional<std::string>& user_id) override;
  Result<ApiToken> GetApiToken(const std::string& id) override;
  Status DeleteApiToken(const std::string& id) override;
  Status RecordTokenUse(const std::vector<std::pair<std::string, int64_t>>& stamps) override;

  Status CreateProvider(const LlmProvider& provider) override;
  Status CreateProviderCapped(const LlmProvider& provider, std::size_t max_per_user) override;
  Result<LlmProvider> GetProvider(const std::string& user_id, const std::string& id) override;
  Result<std::vector<LlmProvider>> ListProviders(const std::string& user_id,
                                                 bool active_only) override;
  Status UpdateProvider(const LlmProvider& provider) override;
  Status DeleteProvider(const std::string& user_id, const std::string& id) override;

  Result<UserAgentConfig> GetAgentConfig(const std::string& user_id) override;
  Status UpsertAgentConfig(const UserAgentConfig& config) override;

  Status CreateUserContainer(const UserContainer& container) override;
  Result<UserContainer> GetUserContainer(const std::string& id) override;
  Result<UserContainer> GetUserContainerByUser(const std::string& user_id) override;
  Result<std::vector<UserContainer>> ListUserContainers() override;
  Status UpdateUserContainer(const UserContainer& container) override;
  Status SetUserContainerIdleTimeout(const std::string& user_id, int idle_timeout_min,
                                     int64_t updated_at) override;
  Status RecordUserActivity(const std::vector<std::pair<std::string, int64_t>>& stamps) override;

  Status CreateSystemContainer(const SystemContainer& container) override;
  Result<SystemContainer> GetSystemContainer(const std::string& id) override;
  Result<std::vector<SystemContainer>> ListSystemContainers() override;
  Status UpdateSystemContainer(const SystemContainer& container) override;
  Status DeleteSystemContainer(const std::string& id) override;

  // A token hash is unique across both container tables (enforced by the schema).
  Result<AgentConfigSource> LoadAgentConfigSource(const std::string& token_hash) override;

  // Skips NULL and empty values (an empty string is not a sealed value).
  Result<std::vector<StoredSecret>> ListSecrets() override;
  // Does not touch updated_at: rotation re-seals the same plaintext.
  Result<bool> ReplaceSecret(const StoredSecret& secret, const std::string& new_value) override;

  // LLM usage (sqlite_usage.cpp / postgres_usage.cpp).
  Status AddUsage(const std::vector<UsageRow>& rows) override;
  Result<std::vector<UsageRow>> ListUsage(const UsageQuery& query) override;
  Status SetLlmLimits(const LlmLimits& limits) override;
  Result<std::optional<LlmLimits>> GetLlmLimits(const std::string& user_id) override;
  Result<std::optional<std::string>> ReserveBudget(const std::string& user_id,
                                                   const std::vector<BudgetWindow>& windows,
                                                   const BudgetCharge& charge) override;
  Status SettleBudget(const std::string& user_id, const std::vector<std::string>& periods,
                      const BudgetCharge& reserved, const BudgetCharge& spent) override;
  Status PruneBudgets(int64_t now_ms) override;
  Status AddRequestLog(const std::vector<LlmRequestLogEntry>& entries) override;
  Result<std::vector<LlmRequestLogEntry>> ListRequestLog(const std::optional<std::string>& user_id,
                                                         std::size_t limit) override;

  // Coordination of replicas (sqlite_coordination.cpp / postgres_coordination.cpp).
  Result<std::optional<int64_t>> AcquireLease(const std::string& name, const std::string& holder,
                                              int64_t ttl_ms) override;
  Result<bool> RenewLease(const LeaseFence& fence, int64_t ttl_ms) override;
  Status ReleaseLease(const LeaseFence& fence) override;
  Result<std::vector<Lease>> ListHeldLeases(const std::string& prefix) override;
  Status SaveAgentState(ContainerKind kind, const std::string& record_id,
                        const AgentStateWrite& write, const LeaseFence& fence) override;
  Status PinAgentNode(ContainerKind kind, const std::string& record_id, const std::string& node_id,
                      const std::string& node_name) override;
  Result<UserContainer> ClaimPoolAgent(const std::string& pool_id, const std::string& user_id,
                                       int64_t now_ms, int default_idle_min) override;
  Status PublishChange(const std::string& kind, const std::string& subject) override;
  Result<ChangeBatch> ChangesSince(int64_t since_ms, std::size_t limit) override;
  Status PruneCoordination(int64_t max_age_ms) override;

  // SnapshotStore (sqlite_snapshot.cpp).
  Result<StoreSnapshot> ReadSnapshot() override;
  Status WriteSnapshot(const StoreSnapshot& snapshot, bool replace) override;

 private:
  explicit SqliteStore(std::unique_ptr<SqlitePool> pool);
  Status InsertProvider(const char* sql, const LlmProvider& provider,
                        std::optional<std::size_t> cap);
  // Runs `delete_sql` (?1 = id) and, when it deleted a row, enters a change of `kind` about
  // `id` in the change feed, in one transaction (sqlite_coordination.cpp).
  Status DeleteNoting(const char* delete_sql, const std::string& id, const char* kind,
                      const char* not_found);
  // Runs `sql` (?1 = id, ?2 = stamp) once per stamp, in one transaction.
  Status ApplyStamps(const char* sql, const std::vector<std::pair<std::string, int64_t>>& stamps);

  std::unique_ptr<SqlitePool> pool_;
};

}  // namespace berth::store
