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

}  // namespace
}  // namespace berth::crypto
