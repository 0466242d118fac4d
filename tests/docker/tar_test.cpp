#include "docker/tar.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "support/temp_dir.hpp"

namespace berth::docker {
namespace {

using berth::testing::ReadFile;
using berth::testing::TempDir;

std::string Shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[512];
  while (std::size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  pclose(pipe);
  return out;
}

TEST(Tar, TarExtractsTheFileWithItsMetadata) {
  TarEntry entry;
  entry.name = "openclaw.json";
  entry.content = "{\"gateway\":{\"mode\":\"local\"}}\n";
  entry.uid = 1000;
  entry.gid = 1001;
  entry.mode = 0600;
  entry.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(1700000123));
  auto tar = MakeSingleFileTar(entry);
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  EXPECT_EQ(tar->size() % 512, 0u);
  EXPECT_EQ(tar->size(), 512u + 512u + 1024u);  // header, one padded block, end of archive

  TempDir dir;
  const std::string archive = dir.File("a.tar");
  std::ofstream(archive, std::ios::binary) << *tar;
  // GNU tar checks the header checksum and the ustar magic; --numeric-owner shows raw ids.
  const std::string listing = Shell("tar --numeric-owner -tvf " + archive + " 2>&1");
  EXPECT_NE(listing.find("-rw-------"), std::string::npos) << listing;
  EXPECT_NE(listing.find("1000/1001"), std::string::npos) << listing;
  EXPECT_NE(listing.find("openclaw.json"), std::string::npos) << listing;

  std::filesystem::create_directories(dir.path() / "out");
  const std::string extract = Shell("tar --same-permissions -xf " + archive + " -C " +
                                    dir.File("out") + " 2>&1; echo rc=$?");
  EXPECT_NE(extract.find("rc=0"), std::string::npos) << extract;
  const std::string file = dir.File("out/openclaw.json");
  EXPECT_EQ(ReadFile(file), entry.content);
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtime, 1700000123);
  if (geteuid() == 0) {  // only root extracts with the archive's owner
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
  }
}

TEST(Tar, ContentOfExactlyOneBlockAndEmptyContent) {
  TarEntry entry;
  entry.name = "a/b.txt";
  entry.content = std::string(512, 'x');
  auto full = MakeSingleFileTar(entry);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->size(), 512u + 512u + 1024u);
  entry.content.clear();
  auto empty = MakeSingleFileTar(entry);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 512u + 1024u);

  TempDir dir;
  std::ofstream(dir.File("e.tar"), std::ios::binary) << *empty;
  EXPECT_NE(Shell("tar -tvf " + dir.File("e.tar") + " 2>&1").find("a/b.txt"), std::string::npos);
}

TEST(Tar, HeaderChecksumIsTheSumWithTheFieldAsSpaces) {
  TarEntry entry;
  entry.name = "f";
  entry.content = "hello";
  auto tar = MakeSingleFileTar(entry);
  ASSERT_TRUE(tar.ok());
  std::string header = tar->substr(0, 512);
  const unsigned stored = std::stoul(header.substr(148, 6), nullptr, 8);
  header.replace(148, 8, 8, ' ');
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  EXPECT_EQ(stored, sum);
  EXPECT_EQ(tar->substr(257, 6), std::string("ustar\0", 6));
  EXPECT_EQ(tar->substr(512, 5), "hello");
}

TEST(Tar, RejectsWhatDoesNotFit) {
  TarEntry entry;
  entry.content = "x";
  for (std::string name : {std::string(), std::string(101, 'n'), std::string("/abs"),
                           std::string("../up"), std::string("a/../b"), std::string("a//b")}) {
    entry.name = name;
    auto tar = MakeSingleFileTar(entry);
    EXPECT_FALSE(tar.ok()) << name;
    if (!tar.ok()) {
      EXPECT_EQ(tar.status().code(), ErrorCode::kInvalidArgument);
    }
  }
  entry.name = "ok";
  entry.uid = 1 << 22;  // 7 octal digits hold at most 2^21 - 1
  EXPECT_FALSE(MakeSingleFileTar(entry).ok());
  entry.uid = 0;
  entry.mode = 010000;
  EXPECT_FALSE(MakeSingleFileTar(entry).ok());
  entry.mode = 0644;
  entry.name = std::string(100, 'n');
  EXPECT_TRUE(MakeSingleFileTar(entry).ok());
}

}  // namespace
}  // namespace berth::docker
