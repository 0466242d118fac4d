#include "agentconfig/llm_routing.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "agentconfig/openclaw_schema.hpp"

namespace berth::agentconfig {
namespace {

struct KnownEndpoint {
  std::string_view provider;
  std::string_view base_url;
};

// The bundled providers whose endpoint berth knows (their public APIs); any other bundled
// provider needs a baseUrl to go through the gateway.
constexpr std::array<KnownEndpoint, 2> kKnownEndpoints = {{
    {"anthropic", "https://api.anthropic.com"},
    {"openai", "https://api.openai.com/v1"},
}};

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

bool IsGatewayApi(std::string_view api_type) {
  return api_type == "openai-completions" || api_type == "openai-responses" ||
         api_type == "anthropic-messages";
}

std::optional<std::string> UpstreamBaseUrl(const ProviderInput& provider) {
  if (provider.api_type && !IsGatewayApi(*provider.api_type)) return std::nullopt;
  if (provider.base_url && !provider.base_url->empty()) return *provider.base_url;
  const auto known =
      std::find_if(kKnownEndpoints.begin(), kKnownEndpoints.end(),
                   [&](const KnownEndpoint& e) { return e.provider == provider.name; });
  if (known == kKnownEndpoints.end()) return std::nullopt;
  return std::string(known->base_url);
}

std::vector<ProviderInput> RouteThroughGateway(const std::vector<ProviderInput>& providers,
                                               std::string_view gateway_base,
                                               std::string_view agent_key) {
  std::vector<ProviderInput> routed;
  routed.reserve(providers.size());
  for (const ProviderInput& provider : providers) {
    if (!UpstreamBaseUrl(provider)) continue;
    ProviderInput out = provider;
    out.base_url = std::string(gateway_base) + "/" + provider.name;
    out.api_key = std::string(agent_key);
    routed.push_back(std::move(out));
  }
  return routed;
}

std::string UpstreamUrl(std::string_view upstream_base, std::string_view path) {
  while (!upstream_base.empty() && upstream_base.back() == '/') upstream_base.remove_suffix(1);
  if (EndsWith(upstream_base, "/v1") && path.substr(0, 4) == "/v1/") path.remove_prefix(3);
  std::string url(upstream_base);
  url += path;
  return url;
}

}  // namespace berth::agentconfig
