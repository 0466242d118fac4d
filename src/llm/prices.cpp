#include "llm/prices.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

namespace berth::llm {
namespace {

struct Listed {
  std::string_view prefix;
  agentconfig::ModelCost cost;  // input, output, cache read, cache write
};

// OpenAI bills no cache writes (it reports none); Anthropic's are 1.25x input (5-minute TTL).
constexpr std::array kBuiltIn = {
    Listed{"gpt-4o", {2.50, 10.00, 1.25, 2.50}},
    Listed{"gpt-4o-mini", {0.15, 0.60, 0.075, 0.15}},
    Listed{"gpt-4.1", {2.00, 8.00, 0.50, 2.00}},
    Listed{"gpt-4.1-mini", {0.40, 1.60, 0.10, 0.40}},
    Listed{"gpt-4.1-nano", {0.10, 0.40, 0.025, 0.10}},
    Listed{"gpt-5", {1.25, 10.00, 0.125, 1.25}},
    Listed{"gpt-5-mini", {0.25, 2.00, 0.025, 0.25}},
    Listed{"gpt-5-nano", {0.05, 0.40, 0.005, 0.05}},
    Listed{"o1", {15.00, 60.00, 7.50, 15.00}},
    Listed{"o3", {2.00, 8.00, 0.50, 2.00}},
    Listed{"o3-mini", {1.10, 4.40, 0.55, 1.10}},
    Listed{"o4-mini", {1.10, 4.40, 0.275, 1.10}},
    Listed{"claude-opus-4", {15.00, 75.00, 1.50, 18.75}},
    Listed{"claude-opus-4-5", {5.00, 25.00, 0.50, 6.25}},
    Listed{"claude-sonnet-4", {3.00, 15.00, 0.30, 3.75}},
    Listed{"claude-3-7-sonnet", {3.00, 15.00, 0.30, 3.75}},
    Listed{"claude-3-5-sonnet", {3.00, 15.00, 0.30, 3.75}},
    Listed{"claude-haiku-4-5", {1.00, 5.00, 0.10, 1.25}},
    Listed{"claude-3-5-haiku", {0.80, 4.00, 0.08, 1.00}},
    Listed{"claude-3-haiku", {0.25, 1.25, 0.03, 0.30}},
};

}  // namespace

std::optional<agentconfig::ModelCost> PriceFor(std::span<const agentconfig::ModelEntry> models,
                                               std::string_view model) {
  for (const auto& entry : models) {
    if (entry.id == model && entry.cost) return entry.cost;
  }
  return BuiltInPrice(model);
}

std::optional<agentconfig::ModelCost> BuiltInPrice(std::string_view model) {
  if (const std::size_t slash = model.rfind('/'); slash != std::string_view::npos) {
    model.remove_prefix(slash + 1);
  }
  std::string id(model);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const Listed* best = nullptr;
  for (const Listed& listed : kBuiltIn) {
    if (!id.starts_with(listed.prefix)) continue;
    if (id.size() > listed.prefix.size()) {
      const char next = id[listed.prefix.size()];
      if (next != '-' && next != '@' && next != ':') continue;
    }
    if (best == nullptr || listed.prefix.size() > best->prefix.size()) best = &listed;
  }
  if (best == nullptr) return std::nullopt;
  return best->cost;
}

int64_t CostNanoUsd(const TokenUsage& usage, const agentconfig::ModelCost& price) {
  // tokens * (USD per 1e6 tokens) * (1e9 nano-USD per USD) / 1e6 = tokens * price * 1000.
  const double nano = (static_cast<double>(usage.input) * price.input +
                       static_cast<double>(usage.output) * price.output +
                       static_cast<double>(usage.cache_read) * price.cache_read +
                       static_cast<double>(usage.cache_write) * price.cache_write) *
                      1000.0;
  return static_cast<int64_t>(std::llround(nano));
}

}  // namespace berth::llm
