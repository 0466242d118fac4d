#include "service/containers.hpp"

#include <cctype>

#include "agentconfig/openclaw_config.hpp"
#include "common/ids.hpp"
#include "crypto/tokens.hpp"

namespace berth::service {

ContainerService::ContainerService(store::StorePtr store,
                                   std::shared_ptr<const crypto::SecretBox> secrets,
                                   std::shared_ptr<const ProviderService> providers, ClockPtr clock)
    : store_(std::move(store)),
      secrets_(std::move(secrets)),
      providers_(std::move(providers)),
      clock_(std::move(clock)) {}

Result<ProvisionedUserContainer> ContainerService::ProvisionUserContainer(
    const std::string& user_id, bool rotate) {
  auto user = store_->GetUser(user_id);
  if (!user.ok()) return user.status();

  std::string token = crypto::NewToken(crypto::kContainerTokenPrefix);
  const int64_t now = ToUnixMillis(clock_->Now());
  auto existing = store_->GetUserContainerByUser(user_id);
  if (existing.ok()) {
    if (!rotate) {
      return AlreadyExists("user already has a container record; use ?rotate=true for a new token");
    }
    store::UserContainer record = std::move(*existing);
    record.gateway_token = secrets_->Seal(token);
    record.token_hash = crypto::TokenHash(token);
    record.updated_at = now;
    BERTH_RETURN_IF_ERROR(store_->UpdateUserContainer(record));
    if (auto hooks = hooks_.lock()) hooks->TokenRotated(user_id);
    return ProvisionedUserContainer{std::move(record), std::move(token)};
  }
  if (existing.status().code() != ErrorCode::kNotFound) return existing.status();

  store::UserContainer record = NewUserContainer(user_id, token, now);
  BERTH_RETURN_IF_ERROR(store_->CreateUserContainer(record));
  return ProvisionedUserContainer{std::move(record), std::move(token)};
}

store::UserContainer ContainerService::NewUserContainer(const std::string& user_id,
                                                        const std::string& token,
                                                        int64_t now) const {
  store::UserContainer record;
  record.id = NewId();
  record.user_id = user_id;
  record.container_name = std::string(kUserContainerPrefix) + user_id;
  record.gateway_token = secrets_->Seal(token);
  record.token_hash = crypto::TokenHash(token);
  record.created_at = record.updated_at = now;
  return record;
}

Result<store::UserContainer> ContainerService::SetIdleTimeout(const std::string& user_id,
                                                              int64_t minutes) {
  if (minutes < 0 || minutes > kMaxIdleTimeoutMin) {
    return InvalidArgument("idleTimeoutMin must be an integer from 0 (never stop) to " +
                           std::to_string(kMaxIdleTimeoutMin) + " (one week)");
  }
  const int value = static_cast<int>(minutes);
  auto user = store_->GetUser(user_id);
  if (!user.ok()) return user.status();
  const int64_t now = ToUnixMillis(clock_->Now());
  // One column only: a whole-record write could undo the lifecycle's concurrent state writes.
  Status set = store_->SetUserContainerIdleTimeout(user_id, value, now);
  if (set.code() == ErrorCode::kNotFound) {
    // No record yet. Nobody needs its token now: the first start hands it to the container.
    store::UserContainer record =
        NewUserContainer(user_id, crypto::NewToken(crypto::kContainerTokenPrefix), now);
    record.idle_timeout_min = value;
    set = store_->CreateUserContainer(record);
    if (set.code() == ErrorCode::kAlreadyExists) {  // provisioned concurrently (a first start)
      set = store_->SetUserContainerIdleTimeout(user_id, value, now);
    }
  }
  BERTH_RETURN_IF_ERROR(set);
  if (auto hooks = hooks_.lock()) hooks->IdleTimeoutChanged(user_id, value);
  return store_->GetUserContainerByUser(user_id);
}

Status ContainerService::ValidateSystemName(const std::string& name) {
  // Becomes part of a Docker container name: keep to Docker's alphabet, lowercase.
  if (name.empty() || name.size() > 63) return InvalidArgument("name must be 1 to 63 characters");
  if (!std::islower(static_cast<unsigned char>(name[0])) &&
      !std::isdigit(static_cast<unsigned char>(name[0]))) {
    return InvalidArgument("name must start with a lowercase letter or digit");
  }
  for (char c : name) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return InvalidArgument("name may contain only lowercase letters, digits, '_', '.' and '-'");
    }
  }
  return Status::Ok();
}

Result<ProvisionedSystemContainer> ContainerService::CreateSystemContainer(
    const std::string& name, const std::optional<std::string>& primary_model) {
  BERTH_RETURN_IF_ERROR(ValidateSystemName(name));
  if (IsPoolName(name)) {
    return InvalidArgument("names beginning with " + std::string(kPoolNamePrefix) +
                           " are the warm pool's");
  }
  if (primary_model) BERTH_RETURN_IF_ERROR(agentconfig::ValidateModelRef(*primary_model));
  return NewSystemContainer(name, primary_model);
}

nlohmann::json ContainerService::PoolConfig(bool rehearsal) const {
  std::lock_guard lock(pool_llm_mu_);
  return rehearsal ? agentconfig::BuildPoolRehearsalConfig(pool_llm_url_)
                   : agentconfig::BuildPoolConfig(pool_llm_url_);
}

void ContainerService::SetPoolLlmUrl(std::string url) {
  std::lock_guard lock(pool_llm_mu_);
  pool_llm_url_ = std::move(url);
}

Result<ProvisionedSystemContainer> ContainerService::CreatePoolContainer() {
  // 80 random bits in lowercase hex (a clash is refused by the store): the container's name must
  // also be a DNS name component for Swarm's service, which base64url's '-' and '_' at the end
  // of it are not ("name must be valid as a DNS name component").
  std::string bytes;
  if (!Base64UrlDecode(NewId(10), &bytes)) return Internal("cannot make a pooled agent's name");
  return NewSystemContainer(std::string(kPoolNamePrefix) + HexEncode(bytes),
                            std::string(agentconfig::kPoolModel));
}

Result<ProvisionedSystemContainer> ContainerService::NewSystemContainer(
    const std::string& name, const std::optional<std::string>& primary_model) {
  std::string token = crypto::NewToken(crypto::kContainerTokenPrefix);
  store::SystemContainer record;
  record.id = NewId();
  record.name = name;
  record.primary_model = primary_model;
  record.container_name = std::string(kSystemContainerPrefix) + name;
  record.gateway_token = secrets_->Seal(token);
  record.token_hash = crypto::TokenHash(token);
  record.created_at = record.updated_at = ToUnixMillis(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->CreateSystemContainer(record));
  return ProvisionedSystemContainer{std::move(record), std::move(token)};
}

Result<std::vector<store::SystemContainer>> ContainerService::ListSystemContainers() const {
  auto all = store_->ListSystemContainers();
  if (!all.ok()) return all.status();
  std::erase_if(*all, [](const store::SystemContainer& c) { return IsPoolName(c.name); });
  return all;
}

Status ContainerService::DeleteSystemContainer(const std::string& id) {
  return store_->DeleteSystemContainer(id);
}

namespace {

// The authentication's verdict on what the store found for `hash`.
Result<store::AgentConfigSource> Authenticated(Result<store::AgentConfigSource> source,
                                               const std::string& hash) {
  if (!source.ok()) {
    if (source.status().code() == ErrorCode::kNotFound) {
      return Unauthenticated("Invalid container token");
    }
    return source.status();
  }
  if (!crypto::ConstantTimeEquals(source->container.token_hash, hash)) {
    return Unauthenticated("Invalid container token");
  }
  return source;
}

}  // namespace

Result<store::AgentConfigSource> ContainerService::AuthenticateContainer(
    std::string_view token) const {
  if (token.empty()) return Unauthenticated("Invalid container token");
  const std::string hash = crypto::TokenHash(token);
  return Authenticated(store_->LoadAgentConfigSource(hash), hash);
}

void ContainerService::AuthenticateContainerAsync(
    std::string_view token, std::function<void(Result<store::AgentConfigSource>)> done) const {
  if (!batcher_ || token.empty()) return done(AuthenticateContainer(token));
  std::string hash = crypto::TokenHash(token);
  batcher_->Lookup(hash, [hash, done = std::move(done)](ConfigBatcher::Found found) {
    if (!found.ok()) return done(found.status());
    if (!found->has_value()) return done(Unauthenticated("Invalid container token"));
    done(Authenticated(std::move(**found), hash));
  });
}

Result<store::AgentConfigSource> ContainerService::AuthenticateLlmKey(std::string_view key) const {
  const std::string hash = crypto::TokenHashOfLlmKey(key);
  if (hash.empty()) return Unauthenticated("Invalid API key");
  auto source = store_->LoadAgentConfigSource(hash);
  if (!source.ok()) {
    if (source.status().code() == ErrorCode::kNotFound) return Unauthenticated("Invalid API key");
    return source.status();
  }
  auto token = secrets_->Open(source->container.gateway_token);
  if (!token.ok()) return token.status();
  if (!crypto::IsAgentLlmKey(key, *token)) return Unauthenticated("Invalid API key");
  return source;
}

Result<nlohmann::json> ContainerService::ConfigForToken(std::string_view token,
                                                        const std::string& id) const {
  return ConfigFor(AuthenticateContainer(token), id, token);
}

Result<nlohmann::json> ContainerService::ConfigFor(const Result<store::AgentConfigSource>& source,
                                                   const std::string& id,
                                                   std::string_view token) const {
  if (!source.ok()) return source.status();
  if (source->container.id != id) {
    return PermissionDenied("Token is not authorized for the requested container");
  }
  if (source->container.kind == store::ContainerKind::kSystem) {
    if (source->primary_model == agentconfig::kPoolModel) return PoolConfig();
    return agentconfig::BuildSystemConfig(source->primary_model);
  }
  return providers_->AssembleUserConfig(source->primary_model, source->active_providers, token);
}

}  // namespace berth::service
