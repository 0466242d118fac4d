#pragma once

#include <cstddef>
#include <string>

namespace berth {

// Opaque, URL-safe random identifier: `bytes` CSPRNG bytes as unpadded base64url.
// The default 16 bytes gives 22 characters. Thread-safe.
std::string NewId(std::size_t bytes = 16);

// base64url without padding (RFC 4648 §5), and its inverse. Decode fails (returns false) on any
// character outside the alphabet.
std::string Base64UrlEncode(const unsigned char* data, std::size_t size);
std::string Base64UrlEncode(const std::string& data);
bool Base64UrlDecode(const std::string& text, std::string* out);

// Standard base64 with padding, and decode accepting it (used for keys given by operators).
std::string Base64Encode(const std::string& data);
bool Base64Decode(const std::string& text, std::string* out);

// Lowercase hex.
std::string HexEncode(const unsigned char* data, std::size_t size);
std::string HexEncode(const std::string& data);
bool HexDecode(const std::string& text, std::string* out);

// Decodes a 256-bit key written as 64 hex characters or base64/base64url (surrounding whitespace
// ignored). False when the text is neither or does not hold exactly 32 bytes.
bool DecodeKey32(const std::string& text, std::string* out);

// Formats a time as RFC 3339 UTC with milliseconds, e.g. 2026-11-24T03:32:20.123Z.
std::string FormatRfc3339Millis(long long unix_millis);

}  // namespace berth
