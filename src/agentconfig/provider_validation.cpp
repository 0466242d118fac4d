#include "agentconfig/provider_validation.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "agentconfig/openclaw_schema.hpp"
#include "agentconfig/text_checks.hpp"
#include "common/json_parse.hpp"

namespace berth::agentconfig {
namespace {

Status Invalid(std::string_view field, std::string_view problem) {
  std::string message(field);
  message += ": ";
  message += problem;
  return InvalidArgument(std::move(message));
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string IndexedField(std::size_t index, std::string_view member) {
  std::string field = "models[" + std::to_string(index) + "]";
  if (!member.empty()) {
    field += '.';
    field += member;
  }
  return field;
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsPrintableAsciiNoSpace(char c) { return c >= 0x21 && c <= 0x7E; }

Status CheckProviderName(std::string_view name, std::string_view field) {
  if (name.empty()) return Invalid(field, "must not be empty");
  if (name.size() > kMaxProviderNameLength) {
    return Invalid(field,
                   "must be at most " + std::to_string(kMaxProviderNameLength) + " characters");
  }
  const bool allowed = std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-';
  });
  if (!allowed) {
    return Invalid(field, "may only contain lowercase letters, digits, '.', '_' and '-'");
  }
  if (name == "." || name == "..") {
    return Invalid(field, "\"" + std::string(name) + "\" is reserved (it would name a directory)");
  }
  if (name == "__proto__") {
    return Invalid(field, "\"__proto__\" is reserved (OpenClaw's config loader drops that key)");
  }
  return Status::Ok();
}

Status CheckModelId(std::string_view id, std::string_view field) {
  if (id.empty()) return Invalid(field, "must not be empty");
  if (id.size() > kMaxModelIdLength) {
    return Invalid(field, "must be at most " + std::to_string(kMaxModelIdLength) + " bytes");
  }
  if (!IsValidUtf8(id)) return Invalid(field, "must be valid UTF-8");
  if (HasControlCharacter(id)) return Invalid(field, "must not contain control characters");
  if (HasEdgeWhitespace(id)) return Invalid(field, "must not start or end with whitespace");
  return Status::Ok();
}

Status CheckModelName(std::string_view name, std::string_view field) {
  if (name.empty()) return Invalid(field, "must not be empty");
  if (name.size() > kMaxModelNameLength) {
    return Invalid(field, "must be at most " + std::to_string(kMaxModelNameLength) + " bytes");
  }
  if (!IsValidUtf8(name)) return Invalid(field, "must be valid UTF-8");
  if (HasControlCharacter(name)) return Invalid(field, "must not contain control characters");
  return Status::Ok();
}

// Checks ids, names, uniqueness and count of an already parsed model list.
Status CheckModels(const std::vector<ModelEntry>& models) {
  if (models.size() > kMaxModelsPerProvider) {
    return Invalid("models",
                   "must have at most " + std::to_string(kMaxModelsPerProvider) + " entries");
  }
  std::unordered_map<std::string_view, std::size_t> first_index;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const ModelEntry& model = models[i];
    BERTH_RETURN_IF_ERROR(CheckModelId(model.id, IndexedField(i, "id")));
    if (model.name) BERTH_RETURN_IF_ERROR(CheckModelName(*model.name, IndexedField(i, "name")));
    const auto [it, inserted] = first_index.emplace(model.id, i);
    if (!inserted) {
      return Invalid(IndexedField(i, "id"),
                     Quoted(model.id) + " duplicates " + IndexedField(it->second, ""));
    }
  }
  return Status::Ok();
}

bool IsHostChar(char c) { return IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_'; }

bool IsIpv6LiteralChar(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

Status CheckPort(std::string_view port) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || port.size() > 5 || error != std::errc() || end != port.data() + port.size() ||
      value < 1 || value > 65535) {
    return Invalid("baseUrl", "port must be a number from 1 to 65535");
  }
  return Status::Ok();
}

// models[i].cost: OpenClaw's shape, USD per million tokens; every part optional (0).
Result<ModelCost> ParseCost(const nlohmann::json& cost, std::size_t i) {
  const std::string field = IndexedField(i, "cost");
  if (!cost.is_object()) return Invalid(field, "must be an object");
  ModelCost out;
  for (const auto& [key, value] : cost.items()) {
    double* part = key == "input"        ? &out.input
                   : key == "output"     ? &out.output
                   : key == "cacheRead"  ? &out.cache_read
                   : key == "cacheWrite" ? &out.cache_write
                                         : nullptr;
    if (part == nullptr) {
      return Invalid(
          field, "unknown key " + Quoted(key) + " (allowed: input, output, cacheRead, cacheWrite)");
    }
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0 ||
        value.get<double>() > kMaxModelPrice) {
      return Invalid(field + "." + key, "must be a number of USD per million tokens, 0 to " +
                                            std::to_string(static_cast<int>(kMaxModelPrice)));
    }
    *part = value.get<double>();
  }
  return out;
}

}  // namespace

Result<std::vector<ModelEntry>> ParseModelsStrict(const nlohmann::json& models) {
  if (!models.is_array()) return Invalid("models", "must be an array");
  if (models.size() > kMaxModelsPerProvider) {
    return Invalid("models",
                   "must have at most " + std::to_string(kMaxModelsPerProvider) + " entries");
  }
  std::vector<ModelEntry> parsed;
  parsed.reserve(models.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    const nlohmann::json& entry = models[i];
    if (entry.is_string()) {
      parsed.push_back(ModelEntry{entry.get<std::string>(), std::nullopt, std::nullopt});
      continue;
    }
    if (!entry.is_object()) {
      return Invalid(IndexedField(i, ""),
                     "must be a model id string or an object with \"id\" and optional \"name\"");
    }
    for (const auto& [key, value] : entry.items()) {
      if (key != "id" && key != "name" && key != "cost") {
        return Invalid(IndexedField(i, ""),
                       "unknown key " + Quoted(key) + " (allowed: id, name, cost)");
      }
    }
    const auto id = entry.find("id");
    if (id == entry.end()) return Invalid(IndexedField(i, "id"), "is required");
    if (!id->is_string()) return Invalid(IndexedField(i, "id"), "must be a string");
    ModelEntry model{id->get<std::string>(), std::nullopt, std::nullopt};
    const auto name = entry.find("name");
    if (name != entry.end() && !name->is_null()) {
      if (!name->is_string()) return Invalid(IndexedField(i, "name"), "must be a string");
      model.name = name->get<std::string>();
    }
    if (const auto cost = entry.find("cost"); cost != entry.end() && !cost->is_null()) {
      auto parsed_cost = ParseCost(*cost, i);
      if (!parsed_cost.ok()) return parsed_cost.status();
      model.cost = *parsed_cost;
    }
    parsed.push_back(std::move(model));
  }
  BERTH_RETURN_IF_ERROR(CheckModels(parsed));
  return parsed;
}

std::vector<ModelEntry> ParseModelsLenient(const std::string& stored_json) {
  const nlohmann::json models = ParseJson(stored_json, "stored models").value_or(nlohmann::json());
  std::vector<ModelEntry> parsed;
  if (!models.is_array()) return parsed;  // also covers a parse failure (discarded value)
  std::set<std::string, std::less<>> seen;
  for (const nlohmann::json& entry : models) {
    if (parsed.size() == kMaxModelsPerProvider) break;
    ModelEntry model;
    if (entry.is_string()) {
      model.id = entry.get<std::string>();
    } else if (entry.is_object()) {
      const auto id = entry.find("id");
      if (id == entry.end() || !id->is_string()) continue;
      model.id = id->get<std::string>();
      const auto name = entry.find("name");
      if (name != entry.end() && name->is_string() &&
          CheckModelName(name->get_ref<const std::string&>(), "name").ok()) {
        model.name = name->get<std::string>();
      }
      if (const auto cost = entry.find("cost"); cost != entry.end()) {
        if (auto parsed_cost = ParseCost(*cost, 0); parsed_cost.ok()) model.cost = *parsed_cost;
      }
    } else {
      continue;
    }
    if (!CheckModelId(model.id, "id").ok() || !seen.insert(model.id).second) continue;
    parsed.push_back(std::move(model));
  }
  return parsed;
}

Status ValidateProviderName(std::string_view name) { return CheckProviderName(name, "name"); }

Status ValidateApiType(const std::optional<std::string>& api_type) {
  if (!api_type || IsModelApi(*api_type)) return Status::Ok();
  std::string allowed;
  for (std::string_view api : kModelApis) {
    if (!allowed.empty()) allowed += ", ";
    allowed += api;
  }
  return Invalid("apiType", "must be one of " + allowed + " (absent means " +
                                std::string(kDefaultModelApi) + ")");
}

Status ValidateBaseUrl(std::string_view base_url) {
  constexpr std::string_view kField = "baseUrl";
  if (base_url.empty()) return Invalid(kField, "must not be empty");
  if (base_url.size() > kMaxBaseUrlLength) {
    return Invalid(kField, "must be at most " + std::to_string(kMaxBaseUrlLength) + " bytes");
  }
  if (!std::all_of(base_url.begin(), base_url.end(), IsPrintableAsciiNoSpace)) {
    return Invalid(kField, "must be printable ASCII without spaces (percent-encode the rest)");
  }
  const std::size_t separator = base_url.find("://");
  std::string scheme(base_url.substr(0, separator == std::string_view::npos ? 0 : separator));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return Invalid(kField, "must be an http:// or https:// URL");
  }
  if (base_url.find('#') != std::string_view::npos) {
    return Invalid(kField, "must not contain a fragment ('#')");
  }
  const std::string_view rest = base_url.substr(separator + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(kField, "must not contain user info; put the credential in apiKey");
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(kField, "has an unterminated IPv6 host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(kField, "has junk after the IPv6 host");
      port = after.substr(1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsIpv6LiteralChar)) {
      return Invalid(kField, "has an invalid IPv6 host");
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return Invalid(kField, "must name a host");
    if (!std::all_of(host.begin(), host.end(), IsHostChar) || host.front() == '.' ||
        host.front() == '-') {
      return Invalid(kField, "has an invalid host name");
    }
  }
  if (port) BERTH_RETURN_IF_ERROR(CheckPort(*port));
  return Status::Ok();
}

Status ValidateApiKey(std::string_view api_key) {
  constexpr std::string_view kField = "apiKey";
  if (api_key.empty()) return Invalid(kField, "must not be empty");
  if (api_key.size() > kMaxApiKeyLength) {
    return Invalid(kField, "must be at most " + std::to_string(kMaxApiKeyLength) + " bytes");
  }
  if (!std::all_of(api_key.begin(), api_key.end(), IsPrintableAsciiNoSpace)) {
    return Invalid(kField, "must be printable ASCII without spaces");
  }
  // OpenClaw reads a whole "$NAME" (NAME = [A-Z][A-Z0-9_]*) as a reference to an env variable.
  if (api_key.size() >= 2 && api_key[0] == '$' && api_key[1] >= 'A' && api_key[1] <= 'Z' &&
      std::all_of(api_key.begin() + 2, api_key.end(),
                  [](char c) { return (c >= 'A' && c <= 'Z') || IsAsciiDigit(c) || c == '_'; })) {
    return Invalid(kField, "a value of the form $NAME would be read as an environment variable");
  }
  if (api_key.starts_with("secretref-env:") || api_key.starts_with("__env__:")) {
    return Invalid(kField, "must not start with a secret-reference marker");
  }
  return Status::Ok();
}

Status ValidateModelId(std::string_view id) { return CheckModelId(id, "id"); }

Status ValidateModelName(std::string_view name) { return CheckModelName(name, "name"); }

Status ValidateProvider(const ProviderInput& provider) {
  BERTH_RETURN_IF_ERROR(ValidateProviderName(provider.name));
  BERTH_RETURN_IF_ERROR(ValidateApiType(provider.api_type));
  if (provider.base_url && !provider.base_url->empty()) {
    BERTH_RETURN_IF_ERROR(ValidateBaseUrl(*provider.base_url));
  } else if (!IsBuiltInProviderId(provider.name)) {
    return Invalid("baseUrl", "is required for provider " + Quoted(provider.name) +
                                  " (only OpenClaw's bundled providers, such as \"openai\", "
                                  "may omit it)");
  }
  if (provider.api_key && !provider.api_key->empty()) {
    BERTH_RETURN_IF_ERROR(ValidateApiKey(*provider.api_key));
  }
  return CheckModels(provider.models);
}

Status ValidateModelRef(std::string_view ref) {
  constexpr std::string_view kField = "primaryModel";
  if (ref.empty()) return Invalid(kField, "must not be empty");
  const std::size_t slash = ref.find('/');
  if (slash == std::string_view::npos) return Invalid(kField, "must have the form provider/model");
  BERTH_RETURN_IF_ERROR(CheckProviderName(ref.substr(0, slash), "primaryModel (provider part)"));
  return CheckModelId(ref.substr(slash + 1), "primaryModel (model part)");
}

}  // namespace berth::agentconfig
