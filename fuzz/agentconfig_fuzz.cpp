// Provider rows (as a user registered them, or as stored before today's rules) through the input
// rules and openclaw.json assembly. The input is fields separated by '\x01': the configured
// primary model, then six per provider: name, type, baseUrl, apiKey, api, models (stored JSON
// text). Any bytes may appear, including text that is not UTF-8. Whatever the rows hold, the
// assembled file must serialize (nlohmann throws on text that is not UTF-8) and every model the
// user can name must be one the file holds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentconfig/openclaw_config.hpp"
#include "common/json_parse.hpp"

namespace ac = berth::agentconfig;

namespace {

std::vector<std::string_view> Fields(std::string_view in) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t sep = in.find('\x01');
    out.push_back(in.substr(0, sep));
    if (sep == std::string_view::npos) return out;
    in.remove_prefix(sep + 1);
  }
}

std::optional<std::string> Optional(std::string_view field) {
  if (field == "\x02") return std::nullopt;  // an absent column
  return std::string(field);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string_view> f =
      Fields(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::optional<std::string> primary = Optional(f[0]);
  std::vector<ac::ProviderInput> providers;
  for (std::size_t i = 1; i + 6 <= f.size() && providers.size() < 32; i += 6) {
    ac::ProviderInput p;
    p.name = std::string(f[i]);
    p.type = std::string(f[i + 1]);
    p.base_url = Optional(f[i + 2]);
    p.api_key = Optional(f[i + 3]);
    p.api_type = Optional(f[i + 4]);
    const std::string models(f[i + 5]);
    p.models = ac::ParseModelsLenient(models);
    if (auto j = berth::ParseJson(models, "models"); j.ok()) (void)ac::ParseModelsStrict(*j);
    (void)ac::ValidateProvider(p);
    providers.push_back(std::move(p));
  }
  (void)ac::ValidateModelRef(f[0]);

  const nlohmann::json config = ac::BuildUserConfig(primary, providers);
  std::string text;
  try {
    text = config.dump();
  } catch (const nlohmann::json::exception&) {
    __builtin_trap();  // the gateway would get no file at all
  }
  (void)ac::BuildSystemConfig(primary).dump();
  const std::string chosen = ac::ResolvePrimaryModel(primary, providers);
  (void)chosen;
  return 0;
}
