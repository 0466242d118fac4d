#include "service/key_policy.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "crypto/key_file.hpp"
#include "crypto/secret_box.hpp"

namespace berth::service {

std::string PreviousKeyFilePath(const config::Settings& s) { return s.KeyFilePath() + ".previous"; }

Result<crypto::KeyProviderPtr> LoadKeys(const config::Settings& s) {
  std::string current;
  if (s.encryption_key) {
    current = *s.encryption_key;
  } else {
    auto key = crypto::LoadOrCreateKeyFile(s.KeyFilePath());
    if (!key.ok()) return InvalidArgument("BERTH_ENCRYPTION_KEY: " + key.status().message());
    current = std::move(*key);
  }
  std::vector<std::string> previous = s.previous_keys;
  if (std::filesystem::exists(PreviousKeyFilePath(s))) {
    auto key = crypto::LoadOrCreateKeyFile(PreviousKeyFilePath(s));
    if (!key.ok()) return InvalidArgument("BERTH_ENCRYPTION_KEY: " + key.status().message());
    previous.push_back(std::move(*key));
  }
  return crypto::KeyProviderPtr(
      std::make_shared<crypto::StaticKeyProvider>(std::move(current), std::move(previous)));
}

Status CheckKeysPresent(store::Store& store, const crypto::KeyProvider& keys) {
  auto secrets = store.ListSecrets();
  if (!secrets.ok()) return secrets.status();
  std::set<std::string> checked;
  for (const auto& secret : *secrets) {
    std::string id = crypto::SecretBox::SealedKeyId(secret.value);
    if (id.empty() || !checked.insert(id).second) continue;
    if (keys.FindKey(id) == nullptr) {
      return InvalidArgument("BERTH_ENCRYPTION_KEY: stored secrets were sealed with key '" + id +
                             "', which is not configured (current key is '" + keys.CurrentKey().id +
                             "'; give the old key in BERTH_ENCRYPTION_KEY_PREVIOUS and run "
                             "`berth rotate-key`)");
    }
  }
  return Status::Ok();
}

Status GenerateNextKeyFile(const config::Settings& s, std::string* note) {
  if (s.encryption_key) {
    return InvalidArgument(
        "BERTH_ENCRYPTION_KEY: --generate rotates the data dir's key file; with "
        "BERTH_ENCRYPTION_KEY set, give the new key there and the old one in "
        "BERTH_ENCRYPTION_KEY_PREVIOUS");
  }
  const std::string key_file = s.KeyFilePath();
  const std::string previous = PreviousKeyFilePath(s);
  if (std::filesystem::exists(previous)) {
    *note = "an earlier rotation is unfinished; finishing it first";
    return Status::Ok();
  }
  if (!std::filesystem::exists(key_file)) return Status::Ok();
  std::error_code ec;
  std::filesystem::rename(key_file, previous, ec);
  if (ec) return Unavailable("cannot move " + key_file + ": " + ec.message());
  auto fresh = crypto::LoadOrCreateKeyFile(key_file);
  if (!fresh.ok()) return fresh.status();
  return Status::Ok();
}

void ForgetPreviousKeyFile(const config::Settings& s) {
  std::error_code ec;
  std::filesystem::remove(PreviousKeyFilePath(s), ec);
  if (ec) spdlog::warn("cannot remove {}: {}", PreviousKeyFilePath(s), ec.message());
}

}  // namespace berth::service
