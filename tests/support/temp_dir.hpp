#pragma once

#include <filesystem>
#include <string>

namespace berth::testing {

// A fresh directory under $TMPDIR named berth-test-<random>; removed recursively on destruction,
// pass or fail.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Whole content of a file (empty when missing).
std::string ReadFile(const std::string& path);

}  // namespace berth::testing
