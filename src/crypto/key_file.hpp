#pragma once

#include <string>

#include "common/result.hpp"

namespace berth::crypto {

// Parses an operator-supplied key: 64 hex characters, or base64/base64url of exactly 32 bytes.
// Surrounding whitespace is ignored. Errors never echo the input.
Result<std::string> ParseKey(const std::string& text);

// Reads the key file at `path`, or creates it (mode 0600, parent directory created, written
// atomically via a temp file and rename) holding a fresh random key in hex. Refuses a file that
// is readable by group or others, or that does not parse.
Result<std::string> LoadOrCreateKeyFile(const std::string& path);

}  // namespace berth::crypto
