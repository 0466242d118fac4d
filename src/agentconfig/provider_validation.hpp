#pragma once

// Rules for provider and model input accepted through berth's API. Contract: a ProviderInput that
// passes ValidateProvider, built by BuildUserConfig (with any primary model passing
// ValidateModelRef), yields an openclaw.json the gateway accepts, and every model in it can be
// selected as "provider/model". The schema facts behind each rule are in openclaw_schema.hpp.
//
// Every function is pure and thread-safe. Failures are kInvalidArgument with a message that starts
// with the offending API field ("name", "apiType", "baseUrl", "apiKey", "models[2].id",
// "primaryModel").

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentconfig/provider_input.hpp"
#include "common/result.hpp"
#include "common/status.hpp"

namespace berth::agentconfig {

// berth's own bounds (OpenClaw sets none): they keep one provider's config small and printable.
inline constexpr std::size_t kMaxProviderNameLength = 63;
inline constexpr std::size_t kMaxModelIdLength = 256;    // bytes
inline constexpr std::size_t kMaxModelNameLength = 256;  // bytes
inline constexpr std::size_t kMaxModelsPerProvider = 1024;
inline constexpr double kMaxModelPrice = 100000;  // USD per million tokens
inline constexpr std::size_t kMaxBaseUrlLength = 2048;
inline constexpr std::size_t kMaxApiKeyLength = 4096;

// Parses the `models` of an API request: an array whose entries are model id strings or objects
// {"id": string, "name"?: string|null, "cost"?: {input, output, cacheRead, cacheWrite}} (no
// other keys; each cost part a number of USD per million tokens, 0..kMaxModelPrice). Fails on
// anything else, on an id or name breaking ValidateModelId/ValidateModelName, on a duplicate id and
// on more than kMaxModelsPerProvider entries; the message names the bad index ("models[3].id:
// ...").
Result<std::vector<ModelEntry>> ParseModelsStrict(const nlohmann::json& models);

// Reads `models` as stored by the seed or by berth (JSON text), never failing: like the seed's
// extractModels it keeps string entries and objects with a string "id", in order, and skips
// everything else. It also skips ids that ValidateModelId rejects (the gateway would reject or
// never select them) and repeated ids (the seed's map kept the first position), drops names that
// ValidateModelName rejects and costs ParseModelsStrict would refuse, and stops after
// kMaxModelsPerProvider models. Garbage yields {}.
std::vector<ModelEntry> ParseModelsLenient(const std::string& stored_json);

// 1..63 of [a-z0-9._-], and not "__proto__" (OpenClaw's loader silently drops that key). The
// lowercase rule matches OpenClaw comparing provider ids lowercased; excluding '/' keeps
// "provider/model" refs unambiguous.
Status ValidateProviderName(std::string_view name);

// Absent means kDefaultModelApi; otherwise one of kModelApis.
Status ValidateApiType(const std::optional<std::string>& api_type);

// An absolute http:// or https:// URL: non-empty host (name, IPv4 or [IPv6]), optional port
// 1..65535, no user info (keys go in apiKey), no fragment, printable ASCII without spaces, at most
// kMaxBaseUrlLength bytes.
Status ValidateBaseUrl(std::string_view base_url);

// A non-empty key: printable ASCII without spaces, at most kMaxApiKeyLength bytes. Rejects the
// forms OpenClaw would not take literally: a whole "$NAME" (read as an env SecretRef) and the
// legacy "secretref-env:" / "__env__:" markers. ("${NAME}" inside a key is fine: the builder
// escapes it.)
Status ValidateApiKey(std::string_view api_key);

// 1..kMaxModelIdLength bytes of UTF-8 without control characters or leading/trailing whitespace.
// '/' is allowed (OpenRouter-style ids); refs split at the first '/'.
Status ValidateModelId(std::string_view id);

// 1..kMaxModelNameLength bytes of UTF-8 without control characters.
Status ValidateModelName(std::string_view name);

// Everything above for one provider: name, apiType, baseUrl (required unless the name is one of
// OpenClaw's bundled provider ids, kBuiltInProviderIds), apiKey when non-empty, and models (each
// id and name valid, ids unique, at most kMaxModelsPerProvider). An empty base_url or api_key
// counts as unset. A provider with no models is valid (the gateway accepts it; it serves nothing).
Status ValidateProvider(const ProviderInput& provider);

// A primary model "provider/model": the part before the first '/' passes ValidateProviderName and
// the rest passes ValidateModelId. It need not name a configured provider (the gateway accepts
// refs to bundled providers such as the default "openai/gpt-4o-mini").
Status ValidateModelRef(std::string_view ref);

}  // namespace berth::agentconfig
