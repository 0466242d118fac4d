#pragma once

#include <spdlog/formatter.h>

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace berth {

// How log events are written: one JSON object per line for log collectors, or the human-readable
// "<ts> <level> <msg> key=value..." line.
enum class LogFormat { kJson, kText };

// "json" or "text"; anything else is kInvalidArgument.
Result<LogFormat> ParseLogFormat(std::string_view name);

// Configures the process-wide spdlog logger: one line per event to stderr, written synchronously
// on the logging thread (LogFields depends on that). `level` is one of
// trace|debug|info|warn|error|critical|off. Never pass secrets to a log call or a LogFields: tokens
// and keys are redacted at the source, not filtered here.
//
// JSON lines look like
//   {"ts":"2026-11-24T08:00:00.123Z","level":"info","msg":"...","request_id":"..."}
// with ts in UTC, level one of trace|debug|info|warn|error|critical, then the LogFields of the
// thread. Invalid UTF-8 in the message or fields is replaced with U+FFFD.
void InitLogging(const std::string& level, LogFormat format = LogFormat::kJson);

// The formatter InitLogging installs, for tests and additional sinks. Formatters read the
// LogFields of the thread that calls format(), so they must only be used by synchronous sinks.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

// Structured fields added to every event logged on the constructing thread while this object
// lives; nested scopes add to the outer ones, and an inner field replaces an outer one of the same
// name. Fields named ts, level or msg are ignored (those keys belong to the event).
//
//   { LogFields f({{"request_id", id}, {"status", 200}}); spdlog::info("http GET /x"); }
//
// REQUIRES: constructed and destroyed on the same thread, in LIFO order; never alive across a
// co_await (the coroutine may resume on another thread, and other coroutines would log with these
// fields while it is suspended). Not copyable or movable.
class LogFields {
 public:
  using Field = std::pair<std::string, nlohmann::json>;

  // The initializer_list overload makes a single field, LogFields f({{"k", v}}), unambiguous.
  explicit LogFields(std::initializer_list<Field> fields);
  explicit LogFields(std::vector<Field> fields);
  ~LogFields();
  LogFields(const LogFields&) = delete;
  LogFields& operator=(const LogFields&) = delete;

  // The fields in effect on this thread, outermost first, after replacement.
  static std::vector<Field> Current();

 private:
  uint64_t id_;
};

// Completion handler for co_spawn and detached work: a coroutine or task that ends with an
// exception is a bug, but it must be visible rather than silently dropped. Logs at error level
// "<what> ended with an exception: ..."; does nothing for a null `e`.
void LogCoroutineException(const char* what, std::exception_ptr e);

}  // namespace berth
