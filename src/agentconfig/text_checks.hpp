#pragma once

// Character-level checks shared by agentconfig's validation and assembly (private to the module).

#include <string_view>

namespace berth::agentconfig {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
// nlohmann::json::dump() throws on anything else, so nothing else may enter a built config.
bool IsValidUtf8(std::string_view s);

// REQUIRES: IsValidUtf8(s). True when `s` holds a C0 or C1 control character or DEL.
bool HasControlCharacter(std::string_view s);

// REQUIRES: IsValidUtf8(s). True when `s` starts or ends with a character JavaScript's trim()
// removes; OpenClaw trims model refs, so such an id could never be selected.
bool HasEdgeWhitespace(std::string_view s);

}  // namespace berth::agentconfig
