#include "common/logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace berth {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

// 2026-11-24T08:00:00.123Z
const spdlog::log_clock::time_point kTime = spdlog::log_clock::time_point(
    std::chrono::seconds(1795507200) + std::chrono::milliseconds(123));

// An ISO 8601 UTC timestamp with milliseconds (gtest regexes are POSIX: no \d).
const std::string kTimestampRe =
    R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)";

// Formats one event at kTime directly, for byte-exact expectations.
std::string FormatAt(LogFormat format, spdlog::level::level_enum level, std::string_view text) {
  auto formatter = MakeLogFormatter(format);
  spdlog::details::log_msg msg(kTime, spdlog::source_loc{}, "test", level,
                               spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t buf;
  formatter->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

// A logger writing to a string through the formatter under test, as InitLogging's sink would.
class LoggingTest : public ::testing::Test {
 protected:
  void UseFormat(LogFormat format) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_formatter(MakeLogFormatter(format));
    logger_ = std::make_shared<spdlog::logger>("test", sink);
    logger_->set_level(spdlog::level::trace);
  }
  void SetUp() override { UseFormat(LogFormat::kJson); }

  std::vector<std::string> RawLines() {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::vector<json> Lines() {
    std::vector<json> parsed;
    for (const std::string& line : RawLines()) parsed.push_back(json::parse(line));
    return parsed;
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST(LogFormatter, JsonLineIsExact) {
  EXPECT_EQ(FormatAt(LogFormat::kJson, spdlog::level::info, "hello"),
            "{\"ts\":\"2026-11-24T08:00:00.123Z\",\"level\":\"info\",\"msg\":\"hello\"}\n");
}

TEST(LogFormatter, JsonLineCarriesFieldsInOrderAfterTheEvent) {
  LogFields f({{"request_id", "req-1"}, {"status", 200}, {"ok", true}});
  EXPECT_EQ(FormatAt(LogFormat::kJson, spdlog::level::warn, "http GET /x"),
            "{\"ts\":\"2026-11-24T08:00:00.123Z\",\"level\":\"warn\",\"msg\":\"http GET /x\","
            "\"request_id\":\"req-1\",\"status\":200,\"ok\":true}\n");
}

TEST(LogFormatter, TextLineKeepsTheFormatAndAppendsFields) {
  EXPECT_EQ(FormatAt(LogFormat::kText, spdlog::level::info, "hello"),
            "2026-11-24T08:00:00.123Z info hello\n");
  LogFields f({{"request_id", "req-1"}, {"status", 200}, {"note", "two words"}, {"empty", ""}});
  EXPECT_EQ(FormatAt(LogFormat::kText, spdlog::level::err, "failed"),
            "2026-11-24T08:00:00.123Z error failed request_id=req-1 status=200 "
            "note=\"two words\" empty=\"\"\n");
}

TEST_F(LoggingTest, JsonLinesHaveTimestampLevelAndMessage) {
  logger_->trace("t");
  logger_->debug("d");
  logger_->info("hello {}", "world");
  logger_->warn("w");
  logger_->error("e");
  logger_->critical("c");
  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 6u) << out_.str();
  std::vector<std::string> levels;
  for (const json& line : lines) {
    levels.push_back(line["level"]);
    EXPECT_THAT(line["ts"].get<std::string>(), MatchesRegex(kTimestampRe));
  }
  EXPECT_THAT(levels, ElementsAre("trace", "debug", "info", "warn", "error", "critical"));
  EXPECT_EQ(lines[2], (json{{"ts", lines[2]["ts"]}, {"level", "info"}, {"msg", "hello world"}}));
}

TEST_F(LoggingTest, MessagesAreEscapedAndInvalidUtf8Replaced) {
  logger_->info("say \"hi\"\nnext line\\ tab\t bad:\xff\xfe end");
  std::vector<std::string> raw = RawLines();
  ASSERT_EQ(raw.size(), 1u) << out_.str();  // the newline did not split the event
  json line = json::parse(raw[0]);
  EXPECT_EQ(line["msg"], "say \"hi\"\nnext line\\ tab\t bad:\xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST_F(LoggingTest, FieldValuesAndNamesAreEscaped) {
  {
    LogFields f({{"quote\"key", "a \"b\"\nc"}, {"bytes", "\xc3\x28"}, {"nested", {{"k", "v"}}}});
    logger_->info("m");
  }
  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["quote\"key"], "a \"b\"\nc");
  EXPECT_EQ(lines[0]["bytes"], "\xEF\xBF\xBD(");
  EXPECT_EQ(lines[0]["nested"], (json{{"k", "v"}}));
}

TEST_F(LoggingTest, NestedFieldsMergeAndDisappearWithTheirScope) {
  {
    LogFields outer({{"a", 1}, {"b", "outer"}});
    logger_->info("one");
    {
      LogFields inner({{"b", "inner"}, {"c", json::array({1, 2})}});
      logger_->info("two");
    }
    logger_->info("three");
  }
  logger_->info("four");
  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 4u) << out_.str();
  auto fields = [](json line) {
    line.erase("ts");
    line.erase("level");
    line.erase("msg");
    return line;
  };
  EXPECT_EQ(fields(lines[0]), (json{{"a", 1}, {"b", "outer"}}));
  EXPECT_EQ(fields(lines[1]), (json{{"a", 1}, {"b", "inner"}, {"c", {1, 2}}}));
  EXPECT_EQ(fields(lines[2]), (json{{"a", 1}, {"b", "outer"}}));
  EXPECT_EQ(fields(lines[3]), json::object());
  // The inner value replaces the outer one in place: keys keep the outer scope's order.
  EXPECT_NE(RawLines()[1].find(R"("a":1,"b":"inner","c":[1,2]})"), std::string::npos);
  EXPECT_TRUE(LogFields::Current().empty());
}

TEST_F(LoggingTest, FieldsCannotReplaceTheEventKeys) {
  LogFields f({{"msg", "forged"}, {"level", "debug"}, {"ts", "0"}, {"user", "u1"}});
  logger_->error("real");
  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "real");
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_NE(lines[0]["ts"], "0");
  EXPECT_EQ(lines[0]["user"], "u1");
  EXPECT_EQ(lines[0].size(), 4u);
}

TEST_F(LoggingTest, FieldsBelongToTheThreadThatSetThem) {
  LogFields f({{"request_id", "mine"}});
  std::thread other([&] { logger_->info("other thread"); });
  other.join();
  logger_->info("this thread");
  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0].contains("request_id")) << lines[0];
  EXPECT_EQ(lines[1]["request_id"], "mine");
}

TEST_F(LoggingTest, ScopesMayEndOutOfOrderOnTheirThread) {
  auto first = std::make_unique<LogFields>(std::vector<LogFields::Field>{{"a", 1}});
  auto second = std::make_unique<LogFields>(std::vector<LogFields::Field>{{"b", 2}});
  first.reset();
  ASSERT_EQ(LogFields::Current().size(), 1u);
  EXPECT_EQ(LogFields::Current()[0].first, "b");
  second.reset();
  EXPECT_TRUE(LogFields::Current().empty());
}

TEST_F(LoggingTest, TextLinesAppendFieldsAsKeyValue) {
  UseFormat(LogFormat::kText);
  LogFields f({{"id", "req-42"}, {"quoted", "a\"b"}, {"n", 1.5}});
  logger_->warn("http GET /x 200");
  std::vector<std::string> lines = RawLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], MatchesRegex(kTimestampRe +
                                     R"( warning http GET /x 200 id=req-42 quoted="a\\"b" n=1.5)"));
}

TEST_F(LoggingTest, DefaultLoggerUsesThemForSpdlogCalls) {
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger_);
  {
    LogFields f({{"request_id", "r-7"}, {"status", 200}});
    spdlog::info("http GET /x");
  }
  LogCoroutineException("sweep", std::make_exception_ptr(std::runtime_error("boom \"x\"")));
  spdlog::set_default_logger(previous);

  std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_EQ(lines[0]["msg"], "http GET /x");
  EXPECT_EQ(lines[0]["request_id"], "r-7");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_EQ(lines[1]["msg"], "sweep ended with an exception: boom \"x\"");
  EXPECT_FALSE(lines[1].contains("request_id"));
}

TEST(InitLogging, WritesTheChosenFormatToStderrAndCanBeCalledAgain) {
  auto previous = spdlog::default_logger();
  ::testing::internal::CaptureStderr();
  InitLogging("info", LogFormat::kJson);
  spdlog::debug("below the level");
  spdlog::info("as json");
  InitLogging("warn", LogFormat::kText);
  spdlog::info("below the level");
  spdlog::warn("as text");
  std::string err = ::testing::internal::GetCapturedStderr();
  spdlog::set_default_logger(previous);

  std::istringstream in(err);
  std::string first, second, rest;
  std::getline(in, first);
  std::getline(in, second);
  std::getline(in, rest);
  EXPECT_EQ(json::parse(first)["msg"], "as json") << err;
  EXPECT_THAT(second, MatchesRegex(kTimestampRe + " warning as text")) << err;
  EXPECT_TRUE(rest.empty()) << err;
}

TEST(ParseLogFormat, AcceptsJsonAndText) {
  ASSERT_TRUE(ParseLogFormat("json").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  for (const char* bad : {"", "JSON", "logfmt", "text "}) {
    auto parsed = ParseLogFormat(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace berth
