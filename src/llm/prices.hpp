#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "agentconfig/provider_input.hpp"
#include "llm/usage_meter.hpp"

namespace berth::llm {

// A model's price: the provider definition's models[].cost for that model id, else berth's
// built-in list of common models (BuiltInPrice). nullopt: berth does not know what it costs.
std::optional<agentconfig::ModelCost> PriceFor(std::span<const agentconfig::ModelEntry> models,
                                               std::string_view model);

// The built-in list (USD per million tokens: the providers' published list prices as of 2025;
// a provider's models[].cost overrides them), matched
// on the longest listed prefix of the model id that ends at the id's end or at '-', '@' or ':'
// (so dated ids such as "gpt-4o-2024-08-06" or "claude-sonnet-4-20250514" match, "gpt-4o-mini"
// is not "gpt-4o", and "gpt-5.1" matches nothing). A "vendor/" prefix is ignored; case too.
std::optional<agentconfig::ModelCost> BuiltInPrice(std::string_view model);

// What `usage` costs at `price`, in nano-USD (1e-9 USD), rounded to the nearest.
int64_t CostNanoUsd(const TokenUsage& usage, const agentconfig::ModelCost& price);

}  // namespace berth::llm
