#include "agentconfig/openclaw_schema.hpp"

#include <algorithm>
#include <cctype>

namespace berth::agentconfig {
namespace {

static_assert(std::is_sorted(kBuiltInProviderIds.begin(), kBuiltInProviderIds.end()),
              "IsBuiltInProviderId binary-searches kBuiltInProviderIds");

bool IsEnvNameStart(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsEnvNameChar(char c) { return IsEnvNameStart(c) || (c >= '0' && c <= '9'); }

// Length of "${NAME}" starting at `pos` when OpenClaw would substitute it, else 0. Mirrors
// parseEnvTokenAt: the name runs to the first '}' and must match [A-Z_][A-Z0-9_]*.
std::size_t EnvReferenceLength(std::string_view s, std::size_t pos) {
  if (pos + 1 >= s.size() || s[pos] != '$' || s[pos + 1] != '{') return 0;
  const std::size_t close = s.find('}', pos + 2);
  if (close == std::string_view::npos) return 0;
  const std::string_view name = s.substr(pos + 2, close - pos - 2);
  if (name.empty() || !IsEnvNameStart(name.front())) return 0;
  if (!std::all_of(name.begin(), name.end(), IsEnvNameChar)) return 0;
  return close - pos + 1;
}

}  // namespace

bool IsModelApi(std::string_view api) {
  return std::find(kModelApis.begin(), kModelApis.end(), api) != kModelApis.end();
}

bool IsBuiltInProviderId(std::string_view provider_id) {
  std::string lowered(provider_id);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::binary_search(kBuiltInProviderIds.begin(), kBuiltInProviderIds.end(),
                            std::string_view(lowered));
}

// Correctness: OpenClaw scans left to right; at a '$' it reads "$${NAME}" as an escape and
// "${NAME}" as a reference, else emits the '$'. Escaping exactly the references of `literal`
// (inserting one '$') never turns a plain '$' of `literal` into part of an escape or a reference:
// a plain '$' followed by an inserted "$${" is followed by "$$", which is neither, and a name
// region up to '}' is unchanged unless it already held a '$' (and was invalid anyway).
std::string EscapeEnvReferences(std::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (std::size_t i = 0; i < literal.size();) {
    const std::size_t reference = EnvReferenceLength(literal, i);
    if (reference > 0) {
      out += '$';
      out.append(literal.substr(i, reference));
      i += reference;
    } else {
      out += literal[i++];
    }
  }
  return out;
}

}  // namespace berth::agentconfig
