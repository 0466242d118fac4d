#include "crypto/key_provider.hpp"

#include <openssl/sha.h>

#include <cassert>

#include "common/ids.hpp"

namespace berth::crypto {

std::string KeyIdOf(std::string_view bytes) {
  assert(bytes.size() == 32);
  // Domain-separated so the id is never the hash of the bare key.
  static constexpr std::string_view kLabel = "berth key id v1\n";
  std::string input(kLabel);
  input.append(bytes);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return HexEncode(digest, 8);
}

StaticKeyProvider::StaticKeyProvider(std::string current, std::vector<std::string> previous) {
  keys_.push_back({KeyIdOf(current), std::move(current)});
  for (auto& key : previous) {
    std::string id = KeyIdOf(key);
    if (FindKey(id) == nullptr) keys_.push_back({std::move(id), std::move(key)});
  }
}

const EncryptionKey* StaticKeyProvider::FindKey(std::string_view id) const {
  for (const auto& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

}  // namespace berth::crypto
