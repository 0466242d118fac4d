#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentconfig/provider_input.hpp"

namespace berth::agentconfig {

// How a user's providers reach their agent through berth's LLM gateway (issue: provider keys
// never enter an agent). The agent's openclaw.json names, for each provider, berth's gateway
// path as `baseUrl` and the agent's own key as `apiKey`; berth forwards each call to the
// provider's real base URL with the real key (http/llm_gateway_api.hpp).

// The API types the gateway forwards (ARCHITECTURE.md, "LLM gateway"). A provider without an
// explicit api uses kDefaultModelApi, or a bundled provider's own (see UpstreamBaseUrl).
bool IsGatewayApi(std::string_view api_type);

// Where the gateway sends a provider's calls: its base URL, or for a bundled provider that
// omits one the provider's public endpoint ("openai", "anthropic"). nullopt when berth does not
// know where, or when the provider's api is one the gateway cannot forward: such a provider is
// left out of the agent's config (it would need the real key inside the agent).
std::optional<std::string> UpstreamBaseUrl(const ProviderInput& provider);

// `providers` as the agent sees them: each routable one (UpstreamBaseUrl) with base URL
// "<gateway_base>/<name>" and key `agent_key`; the others dropped.
std::vector<ProviderInput> RouteThroughGateway(const std::vector<ProviderInput>& providers,
                                               std::string_view gateway_base,
                                               std::string_view agent_key);

// The provider URL for an agent's call to `path` under its gateway base (e.g. "/chat/completions",
// "/v1/messages"): `upstream_base` + `path`, without a doubled "/v1" when both have it (OpenClaw
// calls "{baseUrl}/v1/messages" for anthropic-messages, whose real base may already end in /v1).
std::string UpstreamUrl(std::string_view upstream_base, std::string_view path);

}  // namespace berth::agentconfig
