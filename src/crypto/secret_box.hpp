#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/key_provider.hpp"

namespace berth::crypto {

// Seals secrets for storage with AES-256-GCM.
//
// Stored form: "enc:v1:<key id>:<base64url(nonce[12] || ciphertext || tag[16])>", with a fresh
// random nonce per value and the "enc:v1:<key id>" header bound as associated data, so neither
// the key name nor the version can be swapped without detection.
//
// Values without an "enc:v<N>:" prefix are plaintext written by an import (the seed's
// decryptIfNeeded rule) and Open() returns them unchanged.
//
// Thread-safe.
class SecretBox {
 public:
  explicit SecretBox(KeyProviderPtr keys) : keys_(std::move(keys)) {}

  // Seals with the current key. Never fails for valid keys.
  std::string Seal(std::string_view plaintext) const;

  // Opens a stored value. Errors (kDataLoss): unknown version, unknown key id (names the id),
  // malformed encoding, or authentication failure (tampering or a wrong key). Messages never
  // contain the value.
  Result<std::string> Open(std::string_view stored) const;

  // True when the value is not sealed under the current key (plaintext or an older key).
  bool NeedsReseal(std::string_view stored) const;

  static bool LooksSealed(std::string_view stored);
  // Id of the key a v1 value names; empty for plaintext or other versions.
  static std::string SealedKeyId(std::string_view stored);

 private:
  KeyProviderPtr keys_;
};

}  // namespace berth::crypto
