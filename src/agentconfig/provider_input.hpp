#pragma once

#include <optional>
#include <string>
#include <vector>

namespace berth::agentconfig {

// What a model costs, in USD per million tokens: OpenClaw's own models[].cost (input, output,
// cacheRead, cacheWrite). berth charges usage by it.
struct ModelCost {
  double input = 0;
  double output = 0;
  double cache_read = 0;
  double cache_write = 0;

  friend bool operator==(const ModelCost&, const ModelCost&) = default;
};

// One model a provider offers. `id` is what the upstream API calls it; `name` is the display name
// (openclaw.json requires one; BuildUserConfig uses `id` when it is absent).
struct ModelEntry {
  std::string id;
  std::optional<std::string> name;
  std::optional<ModelCost> cost;  // absent: berth's built-in price list, if it knows the model

  friend bool operator==(const ModelEntry&, const ModelEntry&) = default;
};

// A user's LLM provider as openclaw.json assembly needs it. Plain data: the caller loads it from
// the store and decrypts the key; nothing in agentconfig does I/O or crypto.
struct ProviderInput {
  std::string name;                     // key under models.providers; see ValidateProviderName
  std::string type;                     // the seed's provider type ("openai", "zai"); informational
  std::optional<std::string> base_url;  // empty means unset
  std::optional<std::string> api_key;   // already decrypted plaintext; empty means no key
  std::optional<std::string> api_type;  // OpenClaw `api`; absent means kDefaultModelApi
  std::vector<ModelEntry> models;       // in the user's order
};

}  // namespace berth::agentconfig
