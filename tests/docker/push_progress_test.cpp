// The push progress stream as Docker 20.10 writes it (lines captured from a push to the test
// swarm's registry), and the X-Registry-Auth encoding.
#include "docker/push_progress.hpp"

#include <gtest/gtest.h>

namespace berth::docker {
namespace {

constexpr char kDigest[] =
    "sha256:c07ed6474061ae98687afe92d7782131eb5f19902f76abe5fa16417a94fa1e9d";

TEST(PushProgress, TakesTheDigestFromTheAuxLine) {
  const std::string body =
      R"({"status":"The push refers to repository [10.199.27.1:46929/berth/test-agent]"})"
      "\r\n"
      R"({"status":"Preparing","progressDetail":{},"id":"5f70bf18a086"})"
      "\n"
      R"({"status":"Layer already exists","progressDetail":{},"id":"5f70bf18a086"})"
      "\n"
      R"({"status":"0.1.0: digest: sha256:c07ed6474061ae98687afe92d7782131eb5f19902f76abe5fa16417a94fa1e9d size: 528"})"
      "\n"
      R"({"progressDetail":{},"aux":{"Tag":"0.1.0","Digest":"sha256:c07ed6474061ae98687afe92d7782131eb5f19902f76abe5fa16417a94fa1e9d","Size":528}})"
      "\n";
  auto digest = DigestFromPushProgress(body, "push x");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, kDigest);
}

TEST(PushProgress, FallsBackToTheStatusLine) {
  auto digest = DigestFromPushProgress(
      R"({"status":"0.1.0: digest: sha256:c07ed6474061ae98687afe92d7782131eb5f19902f76abe5fa16417a94fa1e9d size: 528"})",
      "push x");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, kDigest);
}

TEST(PushProgress, AnErrorLineFailsWithTheEnginesMessage) {
  const std::string body =
      R"({"status":"The push refers to repository [10.0.0.1:5000/berth/test-agent]"})"
      "\n"
      R"({"errorDetail":{"message":"Get \"https://10.0.0.1:5000/v2/\": http: server gave HTTP response to HTTPS client"},"error":"Get \"https://10.0.0.1:5000/v2/\": http: server gave HTTP response to HTTPS client"})"
      "\n";
  auto digest = DigestFromPushProgress(body, "push x");
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(digest.status().message(),
            "push x: Get \"https://10.0.0.1:5000/v2/\": http: server gave HTTP response to HTTPS "
            "client");
}

TEST(PushProgress, NoDigestIsAnInternalError) {
  auto digest = DigestFromPushProgress("not json\n{\"status\":\"Preparing\"}\n[1,2]\n", "push x");
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(DigestFromPushProgress("", "push x").status().code(), ErrorCode::kInternal);
}

TEST(PushProgress, RegistryAuthIsPaddedBase64Url) {
  EXPECT_EQ(RegistryAuthHeader("{}"), "e30=");
  // Bytes that standard base64 spells with '+' and '/'.
  EXPECT_EQ(RegistryAuthHeader("\xfb\xff"), "-_8=");
}

}  // namespace
}  // namespace berth::docker
