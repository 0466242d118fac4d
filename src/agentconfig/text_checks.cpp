#include "agentconfig/text_checks.hpp"

#include <cstdint>
#include <optional>

namespace berth::agentconfig {
namespace {

// Decodes the code point at `pos` and advances `pos` past it; nullopt when malformed.
std::optional<char32_t> DecodeAt(std::string_view s, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t lead = byte(pos);
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (pos + length > s.size()) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    const std::uint8_t next = byte(pos + i);
    if ((next & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  pos += length;
  return cp;
}

// ECMAScript WhiteSpace and LineTerminator, the set String.prototype.trim() removes.
bool IsJsWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    if (!DecodeAt(s, pos)) return false;
  }
  return true;
}

bool HasControlCharacter(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const std::optional<char32_t> c = DecodeAt(s, pos);
    if (!c || *c < 0x20 || (*c >= 0x7F && *c <= 0x9F)) return true;
  }
  return false;
}

bool HasEdgeWhitespace(std::string_view s) {
  if (s.empty()) return false;
  std::size_t pos = 0;
  const std::optional<char32_t> first = DecodeAt(s, pos);
  if (!first || IsJsWhitespace(*first)) return true;
  // The last code point starts at the last byte that is not a continuation byte.
  std::size_t last_start = s.size() - 1;
  while (last_start > 0 && (static_cast<std::uint8_t>(s[last_start]) & 0xC0) == 0x80) --last_start;
  const std::optional<char32_t> last = DecodeAt(s, last_start);
  return !last || IsJsWhitespace(*last);
}

}  // namespace berth::agentconfig
