#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::crypto {

// A 256-bit data-encryption key and its public name. The id is derived from the key (a truncated
// SHA-256 under a domain label), so every ciphertext can say which key sealed it without
// revealing anything usable about the key.
struct EncryptionKey {
  std::string id;     // 16 lowercase hex chars
  std::string bytes;  // exactly 32 bytes
};

// Derives the id of raw key bytes. REQUIRES: bytes.size() == 32.
std::string KeyIdOf(std::string_view bytes);

// Seam for where keys come from (a key file or environment today; a KMS later).
// Thread-safe: implementations are immutable after construction.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  // The key new values are sealed with.
  virtual const EncryptionKey& CurrentKey() const = 0;
  // Any key values may be opened with (current or previous); nullptr when unknown.
  virtual const EncryptionKey* FindKey(std::string_view id) const = 0;
};
using KeyProviderPtr = std::shared_ptr<const KeyProvider>;

// Keys fixed at construction: one current, any number of previous (kept to read values sealed
// before a rotation). REQUIRES: every key is 32 bytes.
class StaticKeyProvider final : public KeyProvider {
 public:
  StaticKeyProvider(std::string current, std::vector<std::string> previous = {});
  const EncryptionKey& CurrentKey() const override { return keys_.front(); }
  const EncryptionKey* FindKey(std::string_view id) const override;

 private:
  std::vector<EncryptionKey> keys_;  // keys_[0] is current
};

}  // namespace berth::crypto
