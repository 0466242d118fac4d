#include "crypto/tokens.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/ids.hpp"

namespace berth::crypto {
namespace {

TEST(Tokens, CarryPrefixAnd256BitsUrlSafe) {
  std::string token = NewToken(kUserTokenPrefix);
  ASSERT_EQ(token.rfind("bu_", 0), 0u);
  std::string body = token.substr(3);
  EXPECT_EQ(body.size(), 43u);
  std::string raw;
  ASSERT_TRUE(Base64UrlDecode(body, &raw));
  EXPECT_EQ(raw.size(), 32u);
  EXPECT_EQ(
      body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(Tokens, AreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewToken(kContainerTokenPrefix));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Tokens, HashIsSha256Hex) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(TokenHash("abd"), TokenHash("abc"));
}

TEST(Tokens, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(AgentLlmKey, NamesTheRecordAndProvesTheTokenWithoutHoldingIt) {
  const std::string token = NewToken(kContainerTokenPrefix);
  const std::string key = AgentLlmKey(token);
  EXPECT_EQ(key.substr(0, 3), "bk_");
  EXPECT_EQ(key.size(), 3u + 64 + 1 + 43);
  EXPECT_EQ(TokenHashOfLlmKey(key), TokenHash(token));
  EXPECT_EQ(key.find(token.substr(3)), std::string::npos) << "no part of the token itself";
  EXPECT_EQ(AgentLlmKey(token), key) << "stable for a token";
  EXPECT_TRUE(IsAgentLlmKey(key, token));
  // Never an Anthropic OAuth-looking key (ARCHITECTURE.md, "LLM gateway").
  EXPECT_EQ(key.find("sk-ant-oat"), std::string::npos);
}

TEST(AgentLlmKey, AnotherTokenOrAForgedKeyDoesNotPass) {
  const std::string token = NewToken(kContainerTokenPrefix);
  const std::string rotated = NewToken(kContainerTokenPrefix);
  const std::string key = AgentLlmKey(token);
  EXPECT_NE(AgentLlmKey(rotated), key);
  EXPECT_FALSE(IsAgentLlmKey(key, rotated));
  std::string forged = key;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(IsAgentLlmKey(forged, token));
  // The right hash with any MAC, e.g. one made from the hash alone, is refused.
  EXPECT_FALSE(IsAgentLlmKey("bk_" + TokenHash(token) + "." + std::string(43, 'A'), token));
  EXPECT_EQ(AgentLlmKey(NewToken(kUserTokenPrefix)), "");
  EXPECT_EQ(AgentLlmKey("bc_"), "");
  EXPECT_EQ(TokenHashOfLlmKey(token), "");
  EXPECT_EQ(TokenHashOfLlmKey("sk-real-provider-key"), "");
  EXPECT_EQ(TokenHashOfLlmKey("bk_" + std::string(64, 'G') + ".x"), "");
  EXPECT_EQ(TokenHashOfLlmKey("bk_" + TokenHash(token)), "");
}

}  // namespace
}  // namespace berth::crypto
