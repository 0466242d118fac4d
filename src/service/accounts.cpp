#include "service/accounts.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "common/ids.hpp"
#include "crypto/tokens.hpp"

namespace berth::service {
namespace {

constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxEmailLength = 254;
// The token cache starts over when it holds this many (each about 200 bytes).
constexpr std::size_t kMaxCachedTokens = 1 << 16;
// A token's use is noted at most this often: last_used_at is for humans deciding what to revoke.
constexpr int64_t kUseGranularityMs = 60'000;
// What a token's owner sees of it: its kind prefix ("bu_") and 4 of its 43 random characters.
constexpr std::size_t kShownPrefixLength = 7;

// A generated id that satisfies ValidateUserId: base64url may start with '-' or '_'.
std::string NewUserId() {
  std::string id = NewId();
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) id[0] = 'u';
  return id;
}

}  // namespace

AccountService::AccountService(store::StorePtr store, ClockPtr clock,
                               std::optional<std::string> admin_token,
                               std::chrono::milliseconds token_cache_ttl)
    : store_(std::move(store)), clock_(std::move(clock)), token_cache_ttl_(token_cache_ttl) {
  if (admin_token) admin_token_hash_ = crypto::TokenHash(*admin_token);
}

Result<Principal> AccountService::Authenticate(std::string_view token) const {
  if (token.empty()) return Unauthenticated("Invalid token");
  const std::string hash = crypto::TokenHash(token);
  if (admin_token_hash_ && crypto::ConstantTimeEquals(hash, *admin_token_hash_)) {
    return Principal{Role::kAdmin, "", ""};
  }
  const bool caching = token_cache_ttl_.count() > 0;
  std::uint64_t deletions = 0;
  if (caching) {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && clock_->SteadyNow() < it->second.expires) {
      NoteUse(it->second.principal.token_id, ToUnixMillis(clock_->Now()));
      return it->second.principal;
    }
    deletions = deletions_;
  }
  auto found = store_->FindApiTokenByHash(hash);
  if (!found.ok()) {
    if (found.status().code() == ErrorCode::kNotFound) return Unauthenticated("Invalid token");
    return found.status();
  }
  // The index lookup matched on the hash; compare again in constant time so a backend that
  // matched loosely (collation, prefix) can never authenticate a different token.
  if (!crypto::ConstantTimeEquals(found->token_hash, hash)) return Unauthenticated("Invalid token");
  Principal principal = found->role == store::TokenRole::kAdmin
                            ? Principal{Role::kAdmin, "", found->id}
                            : Principal{Role::kUser, found->user_id.value_or(""), found->id};
  std::lock_guard lock(cache_mu_);
  NoteUse(principal.token_id, ToUnixMillis(clock_->Now()));
  if (caching && deletions == deletions_) {
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_[hash] = {principal, clock_->SteadyNow() + token_cache_ttl_};
  }
  return principal;
}

void AccountService::ForgetTokensOf(const std::string& user_id) {
  std::lock_guard lock(cache_mu_);
  ++deletions_;
  std::erase_if(cache_,
                [&](const auto& entry) { return entry.second.principal.user_id == user_id; });
}

void AccountService::ForgetToken(const std::string& token_id) {
  std::lock_guard lock(cache_mu_);
  ++deletions_;
  std::erase_if(cache_,
                [&](const auto& entry) { return entry.second.principal.token_id == token_id; });
  pending_uses_.erase(token_id);
  last_noted_.erase(token_id);
}

void AccountService::NoteUse(const std::string& token_id, int64_t now_ms) const {
  if (token_id.empty()) return;  // BERTH_ADMIN_TOKEN: not stored
  int64_t& noted = last_noted_[token_id];
  if (noted != 0 && now_ms - noted < kUseGranularityMs) return;
  noted = now_ms;
  pending_uses_[token_id] = now_ms;
}

std::vector<store::ApiToken> AccountService::WithPendingUses(
    std::vector<store::ApiToken> tokens) const {
  std::lock_guard lock(cache_mu_);
  for (store::ApiToken& token : tokens) {
    auto it = pending_uses_.find(token.id);
    if (it != pending_uses_.end() && it->second > token.last_used_at.value_or(0)) {
      token.last_used_at = it->second;
    }
  }
  return tokens;
}

Result<std::vector<store::ApiToken>> AccountService::ListUserTokens(
    const std::string& user_id) const {
  BERTH_RETURN_IF_ERROR(store_->GetUser(user_id));
  auto tokens = store_->ListApiTokens(store::TokenRole::kUser, user_id);
  if (!tokens.ok()) return tokens.status();
  return WithPendingUses(std::move(*tokens));
}

Result<std::vector<store::ApiToken>> AccountService::ListAdminTokens() const {
  auto tokens = store_->ListApiTokens(store::TokenRole::kAdmin, std::nullopt);
  if (!tokens.ok()) return tokens.status();
  return WithPendingUses(std::move(*tokens));
}

Status AccountService::RevokeUserToken(const std::string& user_id, const std::string& token_id) {
  auto token = store_->GetApiToken(token_id);
  if (!token.ok()) return token.status();
  if (token->role != store::TokenRole::kUser || token->user_id != user_id) {
    return NotFound("api token not found");
  }
  Status deleted = store_->DeleteApiToken(token_id);
  ForgetToken(token_id);  // even on failure: the deletion may have committed
  return deleted;
}

Status AccountService::RevokeAdminToken(const std::string& token_id) {
  auto token = store_->GetApiToken(token_id);
  if (!token.ok()) return token.status();
  if (token->role != store::TokenRole::kAdmin) return NotFound("api token not found");
  if (!admin_token_hash_) {
    auto admins = store_->ListApiTokens(store::TokenRole::kAdmin, std::nullopt);
    if (!admins.ok()) return admins.status();
    if (admins->size() <= 1) {
      return AlreadyExists(
          "this is the last admin token and BERTH_ADMIN_TOKEN is not set: issue another admin "
          "token first, or nobody could administer berth");
    }
  }
  Status deleted = store_->DeleteApiToken(token_id);
  ForgetToken(token_id);
  return deleted;
}

Status AccountService::FlushTokenUse() {
  std::vector<std::pair<std::string, int64_t>> stamps;
  {
    std::lock_guard lock(cache_mu_);
    stamps.assign(pending_uses_.begin(), pending_uses_.end());
    pending_uses_.clear();
  }
  if (stamps.empty()) return Status::Ok();
  Status written = store_->RecordTokenUse(stamps);
  if (!written.ok()) {
    spdlog::warn("token use: cannot record {} uses, keeping them for the next try: {}",
                 stamps.size(), written.message());
    std::lock_guard lock(cache_mu_);
    for (const auto& [id, ms] : stamps) {
      int64_t& kept = pending_uses_[id];
      kept = std::max(kept, ms);
    }
  }
  return written;
}

void AccountService::Start(std::chrono::milliseconds interval) {
  std::lock_guard lock(loop_mu_);
  if (loop_.joinable() || stopping_) return;
  loop_ = std::thread([this, interval] {
    std::unique_lock lock(loop_mu_);
    while (!loop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      FlushTokenUse().ok();  // a failure is logged inside, and the uses kept for the next flush
      lock.lock();
    }
  });
}

void AccountService::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  FlushTokenUse().ok();  // a failure is logged inside
}

AccountService::~AccountService() { Stop(); }

Result<std::optional<std::string>> AccountService::BootstrapAdminToken() {
  if (admin_token_hash_) return std::optional<std::string>();
  auto has = store_->HasAdminToken();
  if (!has.ok()) return has.status();
  if (*has) return std::optional<std::string>();
  auto token = IssueToken(store::TokenRole::kAdmin, std::nullopt);
  if (!token.ok()) return token.status();
  return std::optional<std::string>(std::move(*token));
}

Status AccountService::ValidateUserId(const std::string& id) {
  if (id.empty() || id.size() > 64) return InvalidArgument("id must be 1 to 64 characters");
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) {
    return InvalidArgument("id must start with a letter or digit");
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return InvalidArgument("id may contain only letters, digits, '_', '.' and '-'");
    }
  }
  return Status::Ok();
}

Result<CreatedUser> AccountService::CreateUser(const NewUser& request) {
  if (request.name.empty() || request.name.size() > kMaxNameLength) {
    return InvalidArgument("name must be 1 to 200 characters");
  }
  if (request.email) {
    const std::string& e = *request.email;
    if (e.size() > kMaxEmailLength || e.find('@') == std::string::npos || e.front() == '@' ||
        e.back() == '@' || e.find_first_of(" \t\r\n") != std::string::npos) {
      return InvalidArgument("email is not a valid address");
    }
  }
  store::User user;
  if (request.id) {
    BERTH_RETURN_IF_ERROR(ValidateUserId(*request.id));
    user.id = *request.id;
  } else {
    user.id = NewUserId();
  }
  user.name = request.name;
  user.email = request.email;
  user.created_at = user.updated_at = ToUnixMillis(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->CreateUser(user));
  auto token = IssueToken(store::TokenRole::kUser, user.id);
  if (!token.ok()) {
    // Undo: a user nobody got a token for would look created to no one.
    if (Status undone = store_->DeleteUser(user.id); !undone.ok()) {
      spdlog::error("accounts: user {} was created without a token and could not be removed: {}",
                    user.id, undone.message());
    }
    return token.status();
  }
  return CreatedUser{std::move(user), std::move(*token)};
}

Result<std::vector<store::User>> AccountService::ListUsers() const { return store_->ListUsers(); }

Result<store::User> AccountService::GetUser(const std::string& id) const {
  return store_->GetUser(id);
}

Status AccountService::DeleteUser(const std::string& id) {
  if (auto hooks = hooks_.lock()) {
    BERTH_RETURN_IF_ERROR(store_->GetUser(id));
    BERTH_RETURN_IF_ERROR(hooks->RemovingUser(id));
  }
  Status deleted = store_->DeleteUser(id);
  ForgetTokensOf(id);  // even on failure: the deletion may have committed
  return deleted;
}

Result<std::string> AccountService::IssueUserToken(const std::string& user_id) {
  auto user = store_->GetUser(user_id);
  if (!user.ok()) return user.status();
  return IssueToken(store::TokenRole::kUser, user_id);
}

Result<std::string> AccountService::IssueToken(store::TokenRole role,
                                               const std::optional<std::string>& user_id) {
  std::string token = crypto::NewToken(role == store::TokenRole::kAdmin ? crypto::kAdminTokenPrefix
                                                                        : crypto::kUserTokenPrefix);
  store::ApiToken record;
  record.id = NewId();
  record.role = role;
  record.user_id = user_id;
  record.token_hash = crypto::TokenHash(token);
  record.created_at = ToUnixMillis(clock_->Now());
  record.prefix = token.substr(0, kShownPrefixLength);
  BERTH_RETURN_IF_ERROR(store_->CreateApiToken(record));
  return token;
}

}  // namespace berth::service
