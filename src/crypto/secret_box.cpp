#include "crypto/secret_box.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <memory>
#include <stdexcept>

#include "common/ids.hpp"

namespace berth::crypto {
namespace {

constexpr std::string_view kPrefix = "enc:";
constexpr std::string_view kV1 = "enc:v1:";
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Fetched once: the legacy EVP_aes_256_gcm() makes OpenSSL 3 look the implementation up on every
// init, and Open() runs for every provider key of every config fetch.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (kCipher == nullptr) throw std::runtime_error("AES-256-GCM is not available");
  return kCipher;
}

// "enc:v<digits>:" — anything else is legacy plaintext.
bool HasVersionPrefix(std::string_view s) {
  if (s.substr(0, kPrefix.size()) != kPrefix) return false;
  std::size_t i = kPrefix.size();
  if (i >= s.size() || s[i] != 'v') return false;
  ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
    ++digits;
  }
  return digits > 0 && i < s.size() && s[i] == ':';
}

// Splits "enc:v1:<id>:<payload>" into id and payload.
bool SplitV1(std::string_view s, std::string_view* id, std::string_view* payload) {
  if (s.substr(0, kV1.size()) != kV1) return false;
  std::string_view rest = s.substr(kV1.size());
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  *id = rest.substr(0, colon);
  *payload = rest.substr(colon + 1);
  return true;
}

}  // namespace

bool SecretBox::LooksSealed(std::string_view stored) { return HasVersionPrefix(stored); }

std::string SecretBox::SealedKeyId(std::string_view stored) {
  std::string_view id, payload;
  return SplitV1(stored, &id, &payload) ? std::string(id) : std::string();
}

std::string SecretBox::Seal(std::string_view plaintext) const {
  const EncryptionKey& key = keys_->CurrentKey();
  std::string header = std::string(kV1) + key.id;

  std::string blob(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(blob.data());
  if (RAND_bytes(nonce, kNonceSize) != 1) throw std::runtime_error("RAND_bytes failed");

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* out = nonce + kNonceSize;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key.bytes.data()), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(header.data()),
                        static_cast<int>(header.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), out + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, out + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return header + ":" + Base64UrlEncode(blob);
}

Result<std::string> SecretBox::Open(std::string_view stored) const {
  if (!HasVersionPrefix(stored)) return std::string(stored);  // legacy plaintext
  std::string_view id, payload;
  if (!SplitV1(stored, &id, &payload)) {
    return DataLoss("stored secret has an unsupported format version");
  }
  const EncryptionKey* key = keys_->FindKey(id);
  if (key == nullptr) {
    return DataLoss("stored secret was sealed with key '" + std::string(id) +
                    "', which is not configured (set BERTH_ENCRYPTION_KEY or "
                    "BERTH_ENCRYPTION_KEY_PREVIOUS to that key)");
  }
  std::string blob;
  if (!Base64UrlDecode(std::string(payload), &blob) || blob.size() < kNonceSize + kTagSize) {
    return DataLoss("stored secret is malformed");
  }
  std::string header(stored.substr(0, kV1.size() + id.size()));
  const auto* nonce = reinterpret_cast<const unsigned char*>(blob.data());
  const std::size_t ct_size = blob.size() - kNonceSize - kTagSize;
  const unsigned char* ct = nonce + kNonceSize;
  std::string plain(ct_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key->bytes.data()), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(header.data()),
                        static_cast<int>(header.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, ct, static_cast<int>(ct_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<unsigned char*>(ct + ct_size)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return DataLoss(
        "stored secret failed authentication (tampered, or sealed under a different key "
        "with the same id)");
  }
  return plain;
}

bool SecretBox::NeedsReseal(std::string_view stored) const {
  std::string_view id, payload;
  if (!SplitV1(stored, &id, &payload)) return true;
  return id != keys_->CurrentKey().id;
}

}  // namespace berth::crypto
