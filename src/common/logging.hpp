#pragma once

#include <exception>
#include <string>

namespace berth {

// Configures the process-wide spdlog logger: one line per event to stderr.
// `level` is one of trace|debug|info|warn|error|off. Never pass secrets to a log call: tokens and
// keys are redacted at the source, not filtered here.
void InitLogging(const std::string& level);

// Completion handler for co_spawn and detached work: a coroutine or task that ends with an
// exception is a bug, but it must be visible rather than silently dropped. Logs at error level
// "<what> ended with an exception: ..."; does nothing for a null `e`.
void LogCoroutineException(const char* what, std::exception_ptr e);

}  // namespace berth
