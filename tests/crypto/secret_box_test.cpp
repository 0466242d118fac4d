#include "crypto/secret_box.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/ids.hpp"

namespace berth::crypto {
namespace {

std::string Key(char fill) { return std::string(32, fill); }

std::shared_ptr<const KeyProvider> Keys(std::string current,
                                        std::vector<std::string> previous = {}) {
  return std::make_shared<StaticKeyProvider>(std::move(current), std::move(previous));
}

TEST(SecretBox, SealThenOpenRoundTrips) {
  SecretBox box(Keys(Key('a')));
  for (std::string plain : {std::string(""), std::string("sk-test-123"), std::string(5000, 'x'),
                            std::string("bin\0ary", 7)}) {
    std::string sealed = box.Seal(plain);
    auto opened = box.Open(sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SecretBox, StoredFormNamesVersionAndKeyAndHidesPlaintext) {
  auto keys = Keys(Key('a'));
  SecretBox box(keys);
  std::string sealed = box.Seal("sk-live-secret");
  EXPECT_EQ(sealed.rfind("enc:v1:" + keys->CurrentKey().id + ":", 0), 0u) << sealed;
  EXPECT_EQ(sealed.find("sk-live-secret"), std::string::npos);
  EXPECT_TRUE(SecretBox::LooksSealed(sealed));
}

TEST(SecretBox, FreshNoncePerValue) {
  SecretBox box(Keys(Key('a')));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(box.Seal("same"));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SecretBox, PlaintextLegacyValuesAreReturnedAsIs) {
  SecretBox box(Keys(Key('a')));
  for (std::string legacy : {"sk-imported", "enc", "enc:", "enc:abc", "encoded:v1:x"}) {
    auto opened = box.Open(legacy);
    ASSERT_TRUE(opened.ok()) << legacy;
    EXPECT_EQ(*opened, legacy);
    EXPECT_TRUE(box.NeedsReseal(legacy));
  }
}

TEST(SecretBox, TamperingIsDetectedNeverCrashes) {
  SecretBox box(Keys(Key('a')));
  std::string sealed = box.Seal("sk-live-secret");
  // Flip every character of the payload in turn: each variant must fail cleanly.
  std::size_t payload = sealed.rfind(':') + 1;
  int failures = 0;
  for (std::size_t i = payload; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    auto opened = box.Open(t);
    if (!opened.ok()) {
      EXPECT_EQ(opened.status().code(), ErrorCode::kDataLoss);
      EXPECT_EQ(opened.status().message().find("sk-live"), std::string::npos);
      ++failures;
    } else {
      // Only the unused low bits of the last base64 character may flip without effect.
      EXPECT_EQ(i, sealed.size() - 1);
      EXPECT_EQ(*opened, "sk-live-secret");
    }
  }
  EXPECT_GE(failures, static_cast<int>(sealed.size() - payload - 1));
  // Truncated, empty payload, bad base64.
  EXPECT_FALSE(box.Open(sealed.substr(0, payload + 10)).ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, payload)).ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, payload) + "!!!!").ok());
}

TEST(SecretBox, HeaderIsAuthenticated) {
  auto a = Keys(Key('a'), {Key('b')});
  SecretBox box(a);
  std::string sealed = box.Seal("value");
  // Re-label the value as sealed by the other known key: must not open.
  std::string other_id = KeyIdOf(Key('b'));
  std::string relabelled = "enc:v1:" + other_id + sealed.substr(sealed.rfind(':'));
  auto opened = box.Open(relabelled);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kDataLoss);
}

TEST(SecretBox, UnknownKeyAndVersionAreClearErrors) {
  std::string sealed = SecretBox(Keys(Key('a'))).Seal("value");
  auto opened = SecretBox(Keys(Key('c'))).Open(sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(opened.status().message().find(KeyIdOf(Key('a'))), std::string::npos);

  auto future = SecretBox(Keys(Key('a'))).Open("enc:v9:abcd:AAAA");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.status().message().find("format version"), std::string::npos);
}

TEST(SecretBox, PreviousKeysOpenAndNeedReseal) {
  std::string old_sealed = SecretBox(Keys(Key('a'))).Seal("value");
  SecretBox rotated(Keys(Key('b'), {Key('a')}));
  auto opened = rotated.Open(old_sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "value");
  EXPECT_TRUE(rotated.NeedsReseal(old_sealed));
  EXPECT_FALSE(rotated.NeedsReseal(rotated.Seal("value")));
}

TEST(KeyProvider, IdsAreStableDistinctAndDoNotRevealTheKey) {
  EXPECT_EQ(KeyIdOf(Key('a')), KeyIdOf(Key('a')));
  EXPECT_NE(KeyIdOf(Key('a')), KeyIdOf(Key('b')));
  EXPECT_EQ(KeyIdOf(Key('a')).size(), 16u);
  EXPECT_EQ(HexEncode(Key('a')).find(KeyIdOf(Key('a'))), std::string::npos);
  StaticKeyProvider keys(Key('a'), {Key('b'), Key('a')});
  EXPECT_NE(keys.FindKey(KeyIdOf(Key('b'))), nullptr);
  EXPECT_EQ(keys.FindKey("0000000000000000"), nullptr);
}

}  // namespace
}  // namespace berth::crypto
