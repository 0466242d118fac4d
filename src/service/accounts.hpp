#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "store/store.hpp"

namespace berth::service {

enum class Role { kUser, kAdmin };

// Who a bearer token belongs to.
struct Principal {
  Role role = Role::kUser;
  std::string user_id;  // empty for admins
};

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
// With a token_cache_ttl above zero, a token that resolved is remembered (by its hash) for that
// long, so that a chat or a poll does not pay a database read per request. Deleting a user
// through this service forgets their tokens at once; a deletion made elsewhere (another berth
// sharing the database) takes effect here within the TTL. Unknown tokens are never cached.
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

  Result<CreatedUser> CreateUser(const NewUser& request);
  Result<std::vector<store::User>> ListUsers() const;
  Result<store::User> GetUser(const std::string& id) const;
  Status DeleteUser(const std::string& id);
  // Issues an additional API token for an existing user.
  Result<std::string> IssueUserToken(const std::string& user_id);

  // Validation rules, exposed for tests. User ids appear in container and volume names, so they
  // follow Docker's name alphabet: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
  static Status ValidateUserId(const std::string& id);

 private:
  Result<std::string> IssueToken(store::TokenRole role, const std::optional<std::string>& user_id);
  void ForgetTokensOf(const std::string& user_id);

  struct Cached {
    Principal principal;
    std::chrono::steady_clock::time_point expires;
  };

  store::StorePtr store_;
  ClockPtr clock_;
  std::optional<std::string> admin_token_hash_;
  const std::chrono::milliseconds token_cache_ttl_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, Cached> cache_;  // by token hash; guarded by cache_mu_
  // Bumped by every deletion: a lookup that raced with one does not cache what it read.
  std::uint64_t deletions_ = 0;  // guarded by cache_mu_
};

}  // namespace berth::service
