#pragma once

#include <string>
#include <string_view>

namespace berth::crypto {

// Token prefixes say what a token opens, so a leaked one is recognisable (as secret scanners do).
inline constexpr std::string_view kUserTokenPrefix = "bu_";       // user API token
inline constexpr std::string_view kAdminTokenPrefix = "ba_";      // admin API token
inline constexpr std::string_view kContainerTokenPrefix = "bc_";  // agent container/gateway token

// prefix + 256 random bits as unpadded base64url (43 chars).
std::string NewToken(std::string_view prefix);

// Lookup key for a bearer token: lowercase hex SHA-256. Tokens carry 256 bits of entropy, so an
// unsalted hash is not brute-forceable; it lets the store index tokens without holding them.
std::string TokenHash(std::string_view token);

// Compares in time independent of where the inputs differ (lengths may leak).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace berth::crypto
