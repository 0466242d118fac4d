#include "crypto/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "common/ids.hpp"

namespace berth::crypto {

std::string NewToken(std::string_view prefix) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string token(prefix);
  token += Base64UrlEncode(bytes, sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

std::string TokenHash(std::string_view token) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up on every call; this runs on every
  // authenticated request, so fetch it once.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int size = 0;
  if (kSha256 == nullptr ||
      EVP_Digest(token.data(), token.size(), digest, &size, kSha256, nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return HexEncode(digest, size);
}

namespace {

constexpr std::size_t kHashChars = 2 * SHA256_DIGEST_LENGTH;
constexpr std::string_view kLlmKeyLabel = "berth llm key v1";

std::string LlmKeyMac(std::string_view container_token) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), container_token.data(), static_cast<int>(container_token.size()),
           reinterpret_cast<const unsigned char*>(kLlmKeyLabel.data()), kLlmKeyLabel.size(), mac,
           &size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return Base64UrlEncode(mac, size);
}

bool IsContainerToken(std::string_view token) {
  return token.size() > kContainerTokenPrefix.size() &&
         token.substr(0, kContainerTokenPrefix.size()) == kContainerTokenPrefix;
}

}  // namespace

std::string AgentLlmKey(std::string_view container_token) {
  if (!IsContainerToken(container_token)) return {};
  std::string key(kAgentLlmKeyPrefix);
  key += TokenHash(container_token);
  key += '.';
  key += LlmKeyMac(container_token);
  return key;
}

std::string TokenHashOfLlmKey(std::string_view key) {
  const std::size_t prefix = kAgentLlmKeyPrefix.size();
  if (key.size() <= prefix + kHashChars + 1 || key.substr(0, prefix) != kAgentLlmKeyPrefix ||
      key[prefix + kHashChars] != '.') {
    return {};
  }
  const std::string_view hash = key.substr(prefix, kHashChars);
  for (char c : hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return std::string(hash);
}

bool IsAgentLlmKey(std::string_view key, std::string_view container_token) {
  if (TokenHashOfLlmKey(key).empty() || !IsContainerToken(container_token)) return false;
  return ConstantTimeEquals(key, AgentLlmKey(container_token));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace berth::crypto
