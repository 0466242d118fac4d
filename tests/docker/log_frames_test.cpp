#include "docker/log_frames.hpp"

#include <gtest/gtest.h>

namespace berth::docker {
namespace {

std::string Frame(int stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  return out + payload;
}

TEST(LogFrames, SeparatesStreamsAndKeepsTheOrder) {
  const std::string raw =
      Frame(1, "out1\n") + Frame(2, "err1\n") + Frame(1, "out2\n") + Frame(2, "");
  auto logs = DemultiplexLogs(raw);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_EQ(logs->combined, "out1\nerr1\nout2\n");
  EXPECT_EQ(logs->out, "out1\nout2\n");
  EXPECT_EQ(logs->err, "err1\n");
}

TEST(LogFrames, LargeFrameSizesUseAllFourBytes) {
  const std::string big(70000, 'z');
  auto logs = DemultiplexLogs(Frame(2, big));
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->err, big);
  EXPECT_TRUE(logs->out.empty());
}

TEST(LogFrames, EmptyInputIsEmptyOutput) {
  auto logs = DemultiplexLogs("");
  ASSERT_TRUE(logs.ok());
  EXPECT_TRUE(logs->combined.empty());
}

TEST(LogFrames, TruncatedOrForeignDataIsAnError) {
  EXPECT_FALSE(DemultiplexLogs(Frame(1, "hello").substr(0, 10)).ok());  // payload cut
  EXPECT_FALSE(DemultiplexLogs(Frame(1, "hello").substr(0, 5)).ok());   // header cut
  EXPECT_FALSE(DemultiplexLogs("plain text from a tty\n").ok());
  EXPECT_EQ(DemultiplexLogs(Frame(7, "x")).status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace berth::docker
