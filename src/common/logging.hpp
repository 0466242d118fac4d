#pragma once

#include <string>

namespace berth {

// Configures the process-wide spdlog logger: one line per event to stderr.
// `level` is one of trace|debug|info|warn|error|off. Never pass secrets to a log call: tokens and
// keys are redacted at the source, not filtered here.
void InitLogging(const std::string& level);

}  // namespace berth
