#pragma once

#include <string>
#include <string_view>

namespace berth::crypto {

// Token prefixes say what a token opens, so a leaked one is recognisable (as secret scanners do).
inline constexpr std::string_view kUserTokenPrefix = "bu_";       // user API token
inline constexpr std::string_view kAdminTokenPrefix = "ba_";      // admin API token
inline constexpr std::string_view kContainerTokenPrefix = "bc_";  // agent container/gateway token
inline constexpr std::string_view kAgentLlmKeyPrefix =
    "bk_";  // an agent's key to berth's LLM gateway

// prefix + 256 random bits as unpadded base64url (43 chars).
std::string NewToken(std::string_view prefix);

// Lookup key for a bearer token: lowercase hex SHA-256. Tokens carry 256 bits of entropy, so an
// unsalted hash is not brute-forceable; it lets the store index tokens without holding them.
std::string TokenHash(std::string_view token);

// The key an agent's openclaw.json names for every provider (berth's LLM gateway,
// http/llm_gateway_api.hpp): "bk_" + the container token's hash (TokenHash: how berth finds the
// record) + "." + HMAC-SHA256 keyed with the container token (43 chars base64url: 256 bits). So
// it is bound to that one record, new when the token rotates and dead with the record, holds
// nothing of the token itself (the file is not the env), and is worthless outside berth: the
// provider keys never enter the agent. Empty when `container_token` is not one.
std::string AgentLlmKey(std::string_view container_token);
// The token hash an agent's LLM key names; empty when `key` does not have the key's form.
std::string TokenHashOfLlmKey(std::string_view key);
// Whether `key` is the LLM key of the container whose token is `container_token` (constant
// time in the key's MAC).
bool IsAgentLlmKey(std::string_view key, std::string_view container_token);

// Compares in time independent of where the inputs differ (lengths may leak).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace berth::crypto
