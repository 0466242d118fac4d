#include "crypto/key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/ids.hpp"
#include "support/temp_dir.hpp"

namespace berth::crypto {
namespace {

TEST(ParseKey, AcceptsHexAndBase64Of32Bytes) {
  std::string raw(32, '\x01');
  auto hex = ParseKey(HexEncode(raw));
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, raw);
  auto b64 = ParseKey("  " + Base64Encode(raw) + "\n");
  ASSERT_TRUE(b64.ok());
  EXPECT_EQ(*b64, raw);
  auto b64url = ParseKey(Base64UrlEncode(std::string(32, '\xfb')));
  ASSERT_TRUE(b64url.ok());
  EXPECT_EQ(*b64url, std::string(32, '\xfb'));
}

TEST(ParseKey, RejectsWrongSizesWithoutEchoingInput) {
  for (std::string bad : {std::string(""), std::string(63, 'a'), std::string(64, 'g'),
                          Base64Encode(std::string(31, 'x')), std::string("hunter2")}) {
    auto key = ParseKey(bad);
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_EQ(key.status().code(), ErrorCode::kInvalidArgument);
    if (!bad.empty()) {
      EXPECT_EQ(key.status().message().find(bad), std::string::npos);
    }
  }
}

TEST(KeyFile, CreatedOnceWithMode0600ThenReused) {
  testing::TempDir dir;
  std::string path = dir.File("sub/encryption.key");
  auto first = LoadOrCreateKeyFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = LoadOrCreateKeyFile(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(KeyFile, RefusesWorldReadableOrGarbage) {
  testing::TempDir dir;
  std::string path = dir.File("encryption.key");
  { std::ofstream(path) << std::string(64, 'a'); }
  chmod(path.c_str(), 0644);
  auto loose = LoadOrCreateKeyFile(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("chmod 600"), std::string::npos);
  chmod(path.c_str(), 0600);
  EXPECT_TRUE(LoadOrCreateKeyFile(path).ok());
  { std::ofstream(path) << "not a key"; }
  EXPECT_FALSE(LoadOrCreateKeyFile(path).ok());
}

}  // namespace
}  // namespace berth::crypto
