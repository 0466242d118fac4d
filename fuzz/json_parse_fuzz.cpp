// Any text as a request body, engine answer or gateway message through the bounded parser: the
// bounds must hold while parsing (no deep recursion, no tree beyond max_values), and a document
// that parses must survive what callers do with it (dump, copy) on a normal stack.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const berth::JsonLimits limits{.max_depth = 16, .max_values = 4096};
  berth::Result<nlohmann::json> parsed = berth::ParseJson(text, "request body", limits);
  const berth::Status checked = berth::CheckJson(text, "request body", limits);
  // The tree-free check and the parse must agree on what is acceptable.
  if (parsed.ok() != checked.ok()) __builtin_trap();
  if (parsed.ok()) {
    nlohmann::json copy = *parsed;
    (void)copy.dump();
  }
  return 0;
}
