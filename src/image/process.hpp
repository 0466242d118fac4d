#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::image {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;     // captured stdout (empty when passed through)
  std::string err;     // captured stderr (empty when passed through)
};

struct ProcessOptions {
  std::string cwd;                         // empty: the caller's
  std::map<std::string, std::string> env;  // set on top of the caller's environment
  // false: the child's stdout and stderr both go to the caller's stderr (long-running tools whose
  // progress the user should see, while berth's stdout stays for its result).
  bool capture = true;
};

// Runs argv[0] (looked up on PATH) with `argv` and waits for it. kNotFound when the program is not
// on PATH; kInternal when it cannot be started. A non-zero exit is not an error here: the caller
// reads exit_code.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// Whether `program` is found on PATH (or is an executable path).
bool OnPath(const std::string& program);

// The last `max_lines` lines of `text`, for error messages.
std::string Tail(const std::string& text, int max_lines = 15);

}  // namespace berth::image
