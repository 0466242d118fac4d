#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::image {

// The shared objects a dynamic program loads, as absolute host paths, from `ldd` output: every
// "name => /path (addr)" plus the loader ("/lib64/ld-linux-x86-64.so.2 (addr)"); the vDSO is
// skipped. kNotFound naming the library when ldd reports one as "not found".
Result<std::vector<std::string>> ParseLddOutput(const std::string& text);

// Runs `ldd program`. An empty list for a static program ("not a dynamic executable").
Result<std::vector<std::string>> SharedLibrariesOf(const std::string& program);

}  // namespace berth::image
