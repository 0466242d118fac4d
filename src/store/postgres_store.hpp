#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/store_snapshot.hpp"

namespace berth::store {

class PgPool;

struct PostgresStoreOptions {
  // libpq connection URL or keyword string (may hold a password: never logged or shown).
  std::string conninfo;
  // The same with the password masked (MaskDatabaseUrl), for logs and messages.
  std::string display;
  // Upper bound on open connections.
  std::size_t max_connections = 10;
  // Per call: the longest it waits for a free connection (or a new one), and then, separately,
  // for its statements; the server's statement_timeout too.
  std::chrono::milliseconds query_timeout{10000};
  // For the schema migrations at Open(), which may wait for another replica's.
  std::chrono::milliseconds migration_timeout{60000};
};

// Store backed by a PostgreSQL database (libpq), for several berth replicas on one database.
//
// Thread-safe: calls borrow a connection from a bounded pool (postgres_pool.hpp); statements
// are prepared once per connection. Every call has a deadline (options.query_timeout) and
// never blocks past it. Connection loss is a kUnavailable result, never a crash: the pool drops
// broken connections and opens new ones on later calls, so the store recovers by itself when
// the server is back (Ping() fails meanwhile).
//
// Atomicity and concurrency, READ COMMITTED unless said: single-statement methods are atomic;
// DeleteUser cascades through foreign keys; CreateProviderCapped locks the owner's row before
// counting, so concurrent capped creations never pass the cap; RecordUserActivity and
// RecordTokenUse write one transaction, rows in id order (no deadlock between batches), never
// lowering a stamp; ReplaceSecret is a conditional UPDATE (compare-and-swap);
// LoadAgentConfigSource(s) is one statement (one snapshot) for any number of hashes. A token hash
// is unique across both container tables (a trigger under an advisory lock on the hash). Immutable
// fields as SqliteStore's.
class PostgresStore final : public SnapshotStore {
 public:
  // Connects (the first connection must succeed), applies the schema migrations, and logs the
  // masked URL. Errors: kUnavailable when the server cannot be reached in time;
  // kInvalidArgument when the database's schema is newer than this binary knows; kInternal
  // otherwise.
  static Result<std::shared_ptr<PostgresStore>> Open(PostgresStoreOptions options);

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  Result<AgentConfigSource> LoadAgentConfigSource(const std::string& token_hash) override;
  // One statement for all the hashes (duplicates asked once).
  Result<std::vector<std::optional<AgentConfigSource>>> LoadAgentConfigSources(
      const std::vector<std::string>& token_hashes) override;

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

  // SnapshotStore (postgres_snapshot.cpp). ReadSnapshot reads in one REPEATABLE READ
  // transaction.
  Result<StoreSnapshot> ReadSnapshot() override;
  Status WriteSnapshot(const StoreSnapshot& snapshot, bool replace) override;

 private:
  PostgresStore(std::unique_ptr<PgPool> pool, std::chrono::milliseconds query_timeout);
  Status ApplyStamps(const char* sql, const std::vector<std::pair<std::string, int64_t>>& stamps);
  std::chrono::steady_clock::time_point Deadline() const;

  std::unique_ptr<PgPool> pool_;
  const std::chrono::milliseconds query_timeout_;
};

}  // namespace berth::store
