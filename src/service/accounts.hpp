#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "service/agent_hooks.hpp"
#include "service/principal.hpp"
#include "store/store.hpp"

namespace berth::service {

struct NewUser {
  std::string name;
  std::optional<std::string> email;
  std::optional<std::string> id;  // caller-chosen id; generated when absent
};

struct CreatedUser {
  store::User user;
  std::string token;  // the user's first API token; shown once
};

// Users, API tokens and authentication. Thread-safe; holds no plaintext token except the
// optional operator-configured admin token's hash.
//
// Token hygiene: every stored token keeps a short non-secret prefix and when it was last used;
// owners list and revoke theirs, admins anyone's. Uses are recorded in memory (at most once a
// minute per token) and written in one batch by FlushTokenUse(), which the background loop
// (Start/Stop) calls every few seconds; a revoked token is forgotten by the cache at once.
//
// With a token_cache_ttl above zero, a token that resolved is remembered (by its hash) for that
// long, so that a chat or a poll does not pay a database read per request. Deleting a user
// through this service forgets their tokens at once; a deletion made by another replica sharing
// the database reaches this one through the change feed (within a second), or at worst within
// the TTL. Unknown tokens are never cached.
class AccountService {
 public:
  // admin_token: BERTH_ADMIN_TOKEN when set (accepted in addition to stored admin tokens).
  AccountService(store::StorePtr store, ClockPtr clock, std::optional<std::string> admin_token,
                 std::chrono::milliseconds token_cache_ttl = std::chrono::milliseconds(0));

  // Resolves a bearer token. kUnauthenticated "Invalid token" when unknown; never says why.
  Result<Principal> Authenticate(std::string_view token) const;

  // When no admin token is configured and none is stored, creates one and returns it (for the
  // operator to see once); otherwise nullopt.
  Result<std::optional<std::string>> BootstrapAdminToken();

  // Whom to ask before a user is deleted (AgentHooks::RemovingUser). REQUIRES: before the
  // service is used concurrently.
  void SetAgentHooks(AgentHooksPtr hooks) { hooks_ = std::move(hooks); }
  // Drops cached resolutions of a user's tokens, or of one token: what another replica's
  // deletion (heard through the change feed, where the store entered it with the deletion)
  // means here. Thread-safe.
  void ForgetTokensOf(const std::string& user_id);
  void ForgetToken(const std::string& token_id);

  Result<CreatedUser> CreateUser(const NewUser& request);
  Result<std::vector<store::User>> ListUsers() const;
  Result<store::User> GetUser(const std::string& id) const;
  // Removes the user's agent first (AgentHooks::RemovingUser; may block on the engine), then the
  // user with their providers, settings, tokens and records. kNotFound for an unknown user.
  Status DeleteUser(const std::string& id);
  // Issues an additional API token for an existing user.
  Result<std::string> IssueUserToken(const std::string& user_id);

  // A user's tokens (kNotFound for an unknown user), or the stored admin tokens (the operator's
  // BERTH_ADMIN_TOKEN is not stored and not listed). Oldest first, with uses not yet flushed.
  Result<std::vector<store::ApiToken>> ListUserTokens(const std::string& user_id) const;
  Result<std::vector<store::ApiToken>> ListAdminTokens() const;
  // Revokes a token of `user_id` (kNotFound when it is not theirs), or an admin token. The last
  // stored admin token cannot be revoked while no BERTH_ADMIN_TOKEN is configured
  // (kAlreadyExists: nobody could administer berth any more).
  Status RevokeUserToken(const std::string& user_id, const std::string& token_id);
  Status RevokeAdminToken(const std::string& token_id);

  // Writes the recorded token uses in one batch. Failures are logged and the uses kept for the
  // next flush.
  Status FlushTokenUse();
  // Flushes every `interval` on a thread of its own until Stop() (which flushes once more).
  void Start(std::chrono::milliseconds interval = std::chrono::seconds(10));
  void Stop();
  ~AccountService();

  // Validation rules, exposed for tests. User ids appear in container and volume names, so they
  // follow Docker's name alphabet: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
  static Status ValidateUserId(const std::string& id);

 private:
  Result<std::string> IssueToken(store::TokenRole role, const std::optional<std::string>& user_id);
  // REQUIRES: cache_mu_ held. Notes a use of the token for the next flush.
  void NoteUse(const std::string& token_id, int64_t now_ms) const;
  // Stored last_used_at, or a newer use not yet flushed.
  std::vector<store::ApiToken> WithPendingUses(std::vector<store::ApiToken> tokens) const;

  struct Cached {
    Principal principal;
    std::chrono::steady_clock::time_point expires;
  };

  store::StorePtr store_;
  ClockPtr clock_;
  AgentHooksPtr hooks_;
  std::optional<std::string> admin_token_hash_;
  const std::chrono::milliseconds token_cache_ttl_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, Cached> cache_;  // by token hash; guarded by cache_mu_
  // Bumped by every deletion: a lookup that raced with one does not cache what it read.
  std::uint64_t deletions_ = 0;  // guarded by cache_mu_
  // Uses not yet written, by token id (Unix ms); guarded by cache_mu_. Bounded by the tokens
  // that exist; a use is noted at most once a minute per token (last_noted_).
  mutable std::unordered_map<std::string, int64_t> pending_uses_;
  mutable std::unordered_map<std::string, int64_t> last_noted_;  // guarded by cache_mu_

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;  // guarded by loop_mu_
  std::thread loop_;
};

}  // namespace berth::service
