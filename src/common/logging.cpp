#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iterator>

namespace berth {
namespace {

using Field = LogFields::Field;
using FieldRef = std::pair<const std::string*, const nlohmann::json*>;

// The text format berth has always written; fields are appended after the message.
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v";

struct FieldScope {
  uint64_t id;
  std::vector<Field> fields;
};

// This thread's live LogFields, outermost first. The formatters read it on the thread that logs,
// which is the thread that set the fields because berth's loggers are synchronous: an async
// logger would format on its worker thread and lose them.
thread_local std::vector<FieldScope> t_scopes;
// Process-wide, so that a LogFields wrongly destroyed on another thread cannot remove a scope of
// that thread by matching its id.
std::atomic<uint64_t> g_last_scope_id{0};

bool IsReserved(std::string_view key) { return key == "ts" || key == "level" || key == "msg"; }

// The fields in effect, outermost first, inner ones replacing outer ones of the same name.
// Points into t_scopes: valid until this thread's next LogFields change.
std::vector<FieldRef> MergedFields() {
  std::vector<FieldRef> merged;
  for (const FieldScope& scope : t_scopes) {
    for (const Field& field : scope.fields) {
      if (IsReserved(field.first)) continue;
      auto same = std::find_if(merged.begin(), merged.end(),
                               [&](const FieldRef& m) { return *m.first == field.first; });
      if (same != merged.end()) {
        same->second = &field.second;
      } else {
        merged.emplace_back(&field.first, &field.second);
      }
    }
  }
  return merged;
}

void Append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

// Serializes as JSON; invalid UTF-8 becomes U+FFFD instead of throwing, so a log call can never
// fail on bytes it was handed.
void AppendJson(spdlog::memory_buf_t& dest, const nlohmann::json& value) {
  Append(dest, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void AppendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  AppendJson(dest, nlohmann::json(std::string(s)));
}

void AppendUtcTimestamp(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time) {
  using std::chrono::duration_cast;
  auto since_epoch = duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>((since_epoch - seconds).count()));
  if (n > 0) Append(dest, std::string_view(buf, std::min<std::size_t>(n, sizeof(buf) - 1)));
}

// The names BERTH_LOG_LEVEL accepts, rather than spdlog's "warning"/"error" spellings, so that a
// line's level can be fed back as a setting.
std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    Append(dest, R"({"ts":")");
    AppendUtcTimestamp(dest, msg.time);
    Append(dest, R"(","level":")");
    Append(dest, LevelName(msg.level));
    Append(dest, R"(","msg":)");
    AppendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    for (const auto& [key, value] : MergedFields()) {
      dest.push_back(',');
      AppendJsonString(dest, *key);
      dest.push_back(':');
      AppendJson(dest, *value);
    }
    Append(dest, "}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Strings without spaces, quotes, '=' or control characters stay bare; everything else is
// written as JSON so that a line still splits unambiguously into key=value pairs.
void AppendTextValue(spdlog::memory_buf_t& dest, const nlohmann::json& value) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    bool bare = !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
      return c == ' ' || c == '"' || c == '=' || c == '\\' ||
             static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (bare) {
      Append(dest, s);
      return;
    }
  }
  AppendJson(dest, value);
}

class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter() : pattern_(kTextPattern, spdlog::pattern_time_type::utc, "\n") {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    pattern_.format(msg, dest);
    std::vector<FieldRef> fields = MergedFields();
    if (fields.empty()) return;
    if (dest.size() > 0 && dest[dest.size() - 1] == '\n') dest.resize(dest.size() - 1);
    for (const auto& [key, value] : fields) {
      dest.push_back(' ');
      Append(dest, *key);
      dest.push_back('=');
      AppendTextValue(dest, *value);
    }
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  spdlog::pattern_formatter pattern_;
};

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "json") return LogFormat::kJson;
  if (name == "text") return LogFormat::kText;
  return InvalidArgument("unknown log format '" + std::string(name) + "', expected json|text");
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  if (format == LogFormat::kText) return std::make_unique<TextFormatter>();
  return std::make_unique<JsonFormatter>();
}

void InitLogging(const std::string& level, LogFormat format) {
  // Synchronous sinks (never spdlog's async logger): LogFields are read while formatting, on the
  // thread that logs. Colors only in text mode, where a terminal reads them; escape codes would
  // corrupt JSON.
  spdlog::sink_ptr sink;
  if (format == LogFormat::kText) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>("berth", std::move(sink));
  logger->set_formatter(MakeLogFormatter(format));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

LogFields::LogFields(std::initializer_list<Field> fields) : LogFields(std::vector<Field>(fields)) {}

LogFields::LogFields(std::vector<Field> fields)
    : id_(g_last_scope_id.fetch_add(1, std::memory_order_relaxed) + 1) {
  t_scopes.push_back(FieldScope{id_, std::move(fields)});
}

LogFields::~LogFields() {
  // Normally the last scope; searching tolerates out-of-order destruction on this thread.
  for (auto it = t_scopes.rbegin(); it != t_scopes.rend(); ++it) {
    if (it->id == id_) {
      t_scopes.erase(std::next(it).base());
      return;
    }
  }
  assert(false && "LogFields destroyed on a thread other than the one that created it");
}

std::vector<LogFields::Field> LogFields::Current() {
  std::vector<Field> current;
  for (const auto& [key, value] : MergedFields()) current.emplace_back(*key, *value);
  return current;
}

void LogCoroutineException(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended with an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended with an unknown exception", what);
  }
}

}  // namespace berth
