#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/coordination.hpp"
#include "store/records.hpp"

namespace berth::store {

// Seam for persistent state. Backends: SQLite (sqlite_store.hpp), PostgreSQL (postgres_store.hpp).
//
// Contract for every backend:
// - Thread-safe: any method may be called from any thread concurrently.
// - Each method is atomic: it applies completely or not at all.
// - Errors: kNotFound when the addressed row does not exist (for user-scoped lookups, also when
//   it exists but belongs to another user); kAlreadyExists on a uniqueness violation (user id,
//   provider name per user, one container per user, system container name, token hash);
//   kUnavailable when the database cannot be reached; kInternal otherwise. Messages never
//   contain secret values.
// - Lists are ordered oldest first (created_at, then insertion order).
class Store {
 public:
  virtual ~Store() = default;

  // Cheap round-trip proving the database answers (readiness).
  virtual Status Ping() = 0;
  // The database's random instance id (fixed at creation): what berth labels its containers with.
  virtual Result<std::string> InstanceId() = 0;

  // Users. DeleteUser removes the user's tokens, providers, agent config and container record,
  // and enters kChangeUserDeleted in the change feed in the same transaction (coordination.hpp).
  virtual Status CreateUser(const User& user) = 0;
  virtual Result<User> GetUser(const std::string& id) = 0;
  virtual Result<std::vector<User>> ListUsers() = 0;
  virtual Status DeleteUser(const std::string& id) = 0;

  // API tokens (hashed). DeleteApiToken enters kChangeTokenRevoked in the change feed in the
  // same transaction.
  virtual Status CreateApiToken(const ApiToken& token) = 0;
  virtual Result<ApiToken> FindApiTokenByHash(const std::string& token_hash) = 0;
  virtual Result<bool> HasAdminToken() = 0;
  // One user's tokens (kUser with user_id), or every admin token (kAdmin, user_id nullopt).
  virtual Result<std::vector<ApiToken>> ListApiTokens(
      TokenRole role, const std::optional<std::string>& user_id) = 0;
  virtual Result<ApiToken> GetApiToken(const std::string& id) = 0;
  virtual Status DeleteApiToken(const std::string& id) = 0;
  // Raises last_used_at of each token (by id) to the given stamp, in one transaction; never
  // lowers it. Tokens that no longer exist are skipped.
  virtual Status RecordTokenUse(const std::vector<std::pair<std::string, int64_t>>& stamps) = 0;

  // LLM providers, scoped to their user.
  virtual Status CreateProvider(const LlmProvider& provider) = 0;
  // As CreateProvider, unless the user already has max_per_user providers: then
  // kResourceExhausted and nothing written (one atomic statement, so concurrent creations cannot
  // pass the limit together).
  virtual Status CreateProviderCapped(const LlmProvider& provider, std::size_t max_per_user) = 0;
  virtual Result<LlmProvider> GetProvider(const std::string& user_id, const std::string& id) = 0;
  virtual Result<std::vector<LlmProvider>> ListProviders(const std::string& user_id,
                                                         bool active_only) = 0;
  // Replaces every mutable field of the row (user_id, id) with provider's (all but id, user_id
  // and created_at). kAlreadyExists when the new name collides with another provider of the user.
  virtual Status UpdateProvider(const LlmProvider& provider) = 0;
  virtual Status DeleteProvider(const std::string& user_id, const std::string& id) = 0;

  // Agent settings: at most one row per user.
  virtual Result<UserAgentConfig> GetAgentConfig(const std::string& user_id) = 0;
  virtual Status UpsertAgentConfig(const UserAgentConfig& config) = 0;

  // User container records.
  virtual Status CreateUserContainer(const UserContainer& container) = 0;
  virtual Result<UserContainer> GetUserContainer(const std::string& id) = 0;
  virtual Result<UserContainer> GetUserContainerByUser(const std::string& user_id) = 0;
  virtual Result<std::vector<UserContainer>> ListUserContainers() = 0;
  // Replaces every mutable field of the row with the given id (all but id, user_id, created_at
  // and idle_timeout_min: the admin's setting has its own write below, so that the lifecycle's
  // read-modify-write of a record never undoes it).
  virtual Status UpdateUserContainer(const UserContainer& container) = 0;
  // Sets idle_timeout_min (and updated_at) of the user's container record and nothing else.
  // kNotFound when the user has no container record.
  virtual Status SetUserContainerIdleTimeout(const std::string& user_id, int idle_timeout_min,
                                             int64_t updated_at) = 0;
  // Raises last_active_at of each container record (by record id) to the given stamp, in one
  // transaction; never lowers it. Records that no longer exist are skipped.
  virtual Status RecordUserActivity(const std::vector<std::pair<std::string, int64_t>>& stamps) = 0;

  // System container records.
  virtual Status CreateSystemContainer(const SystemContainer& container) = 0;
  virtual Result<SystemContainer> GetSystemContainer(const std::string& id) = 0;
  virtual Result<std::vector<SystemContainer>> ListSystemContainers() = 0;
  virtual Status UpdateSystemContainer(const SystemContainer& container) = 0;
  virtual Status DeleteSystemContainer(const std::string& id) = 0;

  // The container a token hash belongs to and, in the same snapshot, the inputs of its
  // openclaw.json: one pool checkout and one read transaction, as this serves every agent start.
  // kNotFound when no container has that token hash. Since a container's token lives on its
  // record, a deleted record can never be observed with a valid token.
  virtual Result<AgentConfigSource> LoadAgentConfigSource(const std::string& token_hash) = 0;
  // The same for several token hashes in one round trip (service/config_batcher.hpp gathers the
  // lookups that arrive together): one entry per hash, in order, nullopt where no container has
  // it; each entry as consistent as LoadAgentConfigSource's. This default asks one at a time.
  virtual Result<std::vector<std::optional<AgentConfigSource>>> LoadAgentConfigSources(
      const std::vector<std::string>& token_hashes) {
    std::vector<std::optional<AgentConfigSource>> found;
    found.reserve(token_hashes.size());
    for (const std::string& hash : token_hashes) {
      auto one = LoadAgentConfigSource(hash);
      if (one.ok()) {
        found.emplace_back(std::move(one).value());
      } else if (one.status().code() == ErrorCode::kNotFound) {
        found.emplace_back(std::nullopt);
      } else {
        return one.status();
      }
    }
    return found;
  }

  // ---- Coordination of replicas (coordination.hpp) ----
  // Leases are judged by the database's clock alone, so replicas' clocks may disagree.
  //
  // Takes lease `name` for `holder` for ttl_ms when it is free (never taken, released or
  // expired) or already the holder's, raising its epoch; nullopt when another holds it.
  virtual Result<std::optional<int64_t>> AcquireLease(const std::string& name,
                                                      const std::string& holder,
                                                      int64_t ttl_ms) = 0;
  // Extends a lease still held at the fence's epoch to ttl_ms from now; false when it was taken
  // over meanwhile (an expired lease nobody took is renewed).
  virtual Result<bool> RenewLease(const LeaseFence& fence, int64_t ttl_ms) = 0;
  // Frees the lease when still held at the fence's epoch (the epoch stays, for fencing).
  virtual Status ReleaseLease(const LeaseFence& fence) = 0;
  // The leases named with this prefix that are held now (neither expired nor released).
  virtual Result<std::vector<Lease>> ListHeldLeases(const std::string& prefix) = 0;
  // A start's write to its agent's record, made only while `fence` still holds (checked in the
  // same statement, with the lease row locked against a takeover meanwhile): kAborted when the
  // lease was taken over, kNotFound when the record is gone. A fence with an empty name writes
  // unconditionally (a stop's write: one statement, no read-modify-write of the whole row).
  virtual Status SaveAgentState(ContainerKind kind, const std::string& record_id,
                                const AgentStateWrite& write, const LeaseFence& fence) = 0;
  // Pins the agent of this record to a node, once: sets node_id and node_name while unset. Ok
  // when the record is (now or already) pinned to node_id; kAlreadyExists naming the node when
  // it is pinned to another; kNotFound when the record is gone.
  virtual Status PinAgentNode(ContainerKind kind, const std::string& record_id,
                              const std::string& node_id, const std::string& node_name) = 0;
  // The warm pool's hand-over (lifecycle/warm_pool.hpp), in one transaction: system container
  // record `pool_id` (a pooled agent) is deleted and `user_id`'s user record takes its id,
  // container, name, token and node, with status "running", last_active_at now_ms and config
  // "{}". A record of the user's that never ran (no container id, no activity, stopped) is
  // replaced, its idle timeout kept; otherwise the record gets default_idle_min. Returns the
  // user's new record. kNotFound when the pool record is gone (another replica took it);
  // kAlreadyExists when the user's record has run before (their state is its own) or appeared
  // meanwhile. Nothing is written on error.
  virtual Result<UserContainer> ClaimPoolAgent(const std::string& pool_id,
                                               const std::string& user_id, int64_t now_ms,
                                               int default_idle_min) = 0;
  // Appends to the change feed, stamped by the database's clock.
  virtual Status PublishChange(const std::string& kind, const std::string& subject) = 0;
  // Changes stamped at or after since_ms, oldest first, at most `limit`.
  virtual Result<ChangeBatch> ChangesSince(int64_t since_ms, std::size_t limit) = 0;
  // Drops changes, and released or expired leases, older than max_age_ms.
  virtual Status PruneCoordination(int64_t max_age_ms) = 0;

  // LLM usage. AddUsage adds each row's counts to the stored row of its (user, provider, model,
  // day), creating it, all in one transaction; a row of a user that no longer exists is dropped.
  // Deleting a user deletes their usage. ListUsage: ordered by day, user, provider, model; at
  // most kMaxUsageRows.
  static constexpr std::size_t kMaxUsageRows = 100000;
  virtual Status AddUsage(const std::vector<UsageRow>& rows) = 0;
  virtual Result<std::vector<UsageRow>> ListUsage(const UsageQuery& query) = 0;

  // LLM budgets. SetLlmLimits replaces the user's limits (kNotFound: no such user); GetLlmLimits
  // is nullopt when none were set. ReserveBudget adds `charge` as reserved to each window of the
  // user, creating its row, in one transaction and only when every window stays within its
  // maxima (spent + reserved + charge <= max): else nothing is written and the period of the
  // first window that would overflow is returned. Concurrent reservations, from any replica,
  // never overshoot together. SettleBudget takes `reserved` back (never below 0) and adds
  // `spent`, always. PruneBudgets forgets windows that expired before now_ms.
  virtual Status SetLlmLimits(const LlmLimits& limits) = 0;
  virtual Result<std::optional<LlmLimits>> GetLlmLimits(const std::string& user_id) = 0;
  virtual Result<std::optional<std::string>> ReserveBudget(const std::string& user_id,
                                                           const std::vector<BudgetWindow>& windows,
                                                           const BudgetCharge& charge) = 0;
  virtual Status SettleBudget(const std::string& user_id, const std::vector<std::string>& periods,
                              const BudgetCharge& reserved, const BudgetCharge& spent) = 0;
  virtual Status PruneBudgets(int64_t now_ms) = 0;

  // The log of recent LLM calls, bounded per user. AddRequestLog inserts every entry (ids are
  // the store's, ascending) in one transaction, drops entries of users that no longer exist, and
  // then keeps only the newest kRequestLogPerUser entries of each user it wrote for.
  // ListRequestLog: newest first, one user or all, at most min(limit, kRequestLogPerUser).
  // Deleting a user deletes their entries.
  static constexpr std::size_t kRequestLogPerUser = 1000;
  virtual Status AddRequestLog(const std::vector<LlmRequestLogEntry>& entries) = 0;
  virtual Result<std::vector<LlmRequestLogEntry>> ListRequestLog(
      const std::optional<std::string>& user_id, std::size_t limit) = 0;

  // Key rotation support. ListSecrets returns every non-null sealed value. ReplaceSecret is a
  // compare-and-swap: it writes new_value only while the column still holds secret.value, and
  // returns false (not an error) when the row changed or vanished meanwhile.
  virtual Result<std::vector<StoredSecret>> ListSecrets() = 0;
  virtual Result<bool> ReplaceSecret(const StoredSecret& secret, const std::string& new_value) = 0;
};
using StorePtr = std::shared_ptr<Store>;

// Opens the backend named by a database URL (database_url.hpp), migrations applied:
// - "sqlite://<path>": created with its directory when missing; "sqlite://data/berth.db" is
//   relative to the working directory, "sqlite:///var/lib/berth/berth.db" absolute;
// - "postgres://user:password@host:port/database?sslmode=..." (or "postgresql://"): any libpq
//   URL, plus berth's pool_max_conns and query_timeout_ms parameters; kUnavailable when the
//   server cannot be reached.
// Any other form: kInvalidArgument. Errors never echo a password.
Result<StorePtr> OpenStore(const std::string& database_url);

}  // namespace berth::store
