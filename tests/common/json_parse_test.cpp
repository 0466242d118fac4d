#include "common/json_parse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

using ::testing::HasSubstr;

std::string Arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string Objects(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += "{\"k\":";
  return out + "0" + std::string(depth, '}');
}

TEST(ParseJson, AcceptsDocumentsUpToTheDepthLimit) {
  JsonLimits limits;
  limits.max_depth = 8;
  auto arrays = ParseJson(Arrays(8), "body", limits);
  ASSERT_TRUE(arrays.ok()) << arrays.status().ToString();
  EXPECT_EQ(arrays->dump(), Arrays(8));
  auto objects = ParseJson(Objects(8), "body", limits);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  EXPECT_EQ((*objects)["k"]["k"]["k"]["k"]["k"]["k"]["k"]["k"], 0);
}

TEST(ParseJson, RefusesDeeperDocumentsWhileParsing) {
  JsonLimits limits;
  limits.max_depth = 8;
  for (const std::string& text : {Arrays(9), Objects(9), "[" + Objects(8) + "]"}) {
    auto parsed = ParseJson(text, "request body", limits);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), "request body nests deeper than 8 levels");
  }
}

// What crashed berth: a few ten thousand levels. Refused without recursion, whatever the depth.
TEST(ParseJson, SurvivesWhatExhaustedTheStackBefore) {
  for (std::size_t depth : {90'000u, 1'000'000u}) {
    auto parsed = ParseJson(Arrays(depth), "body");
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status().message(), HasSubstr("nests deeper than 64 levels"));
    EXPECT_FALSE(CheckJson(Objects(depth), "body").ok());
  }
}

TEST(ParseJson, BoundsTheNumberOfValues) {
  JsonLimits limits;
  limits.max_values = 10;
  EXPECT_TRUE(ParseJson("[1,2,3,4,5,6,7,8,9]", "body", limits).ok());  // 9 + the array
  auto parsed = ParseJson("[1,2,3,4,5,6,7,8,9,10]", "body", limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "body has more than 10 values");
}

TEST(ParseJson, SaysWhenTheTextIsNotJson) {
  for (const char* text : {"", "{", "[1,]", "nul", "{\"a\" 1}", "1 2"}) {
    auto parsed = ParseJson(text, "engine answer");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().message(), "engine answer is not valid JSON");
    EXPECT_EQ(CheckJson(text, "x").message(), "x is not valid JSON") << text;
  }
}

TEST(ParseJson, ParsesEveryKindOfValue) {
  auto parsed = ParseJson(R"({"s":"x","i":-1,"u":2,"f":1.5,"b":true,"n":null,"a":[{}]})", "b");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dump(), R"({"a":[{}],"b":true,"f":1.5,"i":-1,"n":null,"s":"x","u":2})");
  EXPECT_TRUE(CheckJson(R"({"a":[1,{"b":[]}]})", "b").ok());
}

}  // namespace
}  // namespace berth
