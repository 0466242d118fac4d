#include "image/rootfs.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/ids.hpp"
#include "image/ldd.hpp"
#include "image/process.hpp"

namespace berth::image {

namespace fs = std::filesystem;

struct Rootfs::Hasher {
  Hasher() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Hasher() { EVP_MD_CTX_free(ctx); }
  void Update(std::string_view data) { EVP_DigestUpdate(ctx, data.data(), data.size()); }
  // Length-prefixed, so that ("ab","c") and ("a","bc") differ.
  void Field(std::string_view data) {
    Update(std::to_string(data.size()));
    Update(":");
    Update(data);
  }
  EVP_MD_CTX* ctx;
};

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string ModeText(mode_t mode) { return std::to_string(static_cast<unsigned>(mode)); }

}  // namespace

Rootfs::Rootfs(fs::path work, fs::path root)
    : work_(std::move(work)), root_(std::move(root)), hasher_(std::make_unique<Hasher>()) {}

Rootfs::~Rootfs() {
  std::error_code ec;
  fs::remove_all(work_, ec);
}

Result<std::unique_ptr<Rootfs>> Rootfs::Create(const std::string& parent) {
  std::string pattern = parent + "/berth-image-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Unavailable(Errno("cannot create a work directory under " + parent));
  }
  fs::path work(pattern);
  fs::path root = work / "rootfs";
  if (::mkdir(root.c_str(), 0755) != 0) {
    Status st = Unavailable(Errno("cannot create " + root.string()));
    std::error_code ec;
    fs::remove_all(work, ec);
    return st;
  }
  ::chmod(root.c_str(), 0755);
  return std::unique_ptr<Rootfs>(new Rootfs(work, root));
}

fs::path Rootfs::Host(const std::string& path) const {
  std::string relative = path;
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  return root_ / relative;
}

Status Rootfs::MakeDir(const std::string& path, mode_t mode) {
  const fs::path host = Host(path);
  fs::path at = root_;
  for (const fs::path& part : host.lexically_relative(root_)) {
    if (part == "." || part.empty()) continue;
    at /= part;
    if (::mkdir(at.c_str(), 0755) == 0) {
      ::chmod(at.c_str(), 0755);  // mkdir applies the umask
    } else if (errno != EEXIST) {
      return Unavailable(Errno("cannot create " + at.string()));
    }
  }
  if (mode != 0 && ::chmod(host.c_str(), mode) != 0) {
    return Unavailable(Errno("chmod " + host.string()));
  }
  hasher_->Field("dir");
  hasher_->Field(path);
  hasher_->Field(ModeText(mode));
  return Status::Ok();
}

Status Rootfs::WriteFile(const std::string& path, std::string_view content, mode_t mode) {
  BERTH_RETURN_IF_ERROR(MakeDir(fs::path(path).parent_path().string(), 0));
  fs::path host = Host(path);
  {
    std::ofstream out(host, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) return Unavailable("cannot write " + host.string());
  }
  if (::chmod(host.c_str(), mode) != 0) return Unavailable(Errno("chmod " + host.string()));
  hasher_->Field("file");
  hasher_->Field(path);
  hasher_->Field(ModeText(mode));
  hasher_->Field(content);
  return Status::Ok();
}

Status Rootfs::CopyFile(const std::string& host_source, const std::string& path, mode_t mode) {
  std::ifstream in(host_source, std::ios::binary);
  if (!in) return NotFound("cannot read " + host_source);
  BERTH_RETURN_IF_ERROR(MakeDir(fs::path(path).parent_path().string(), 0));
  fs::path host = Host(path);
  std::ofstream out(host, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + host.string());
  hasher_->Field("copy");
  hasher_->Field(path);
  hasher_->Field(ModeText(mode));
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    out.write(buffer.data(), n);
    hasher_->Update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
  if (in.bad()) return Unavailable("cannot read " + host_source);
  out.close();
  if (!out) return Unavailable("cannot write " + host.string());
  if (::chmod(host.c_str(), mode) != 0) return Unavailable(Errno("chmod " + host.string()));
  return Status::Ok();
}

Status Rootfs::Symlink(const std::string& target, const std::string& path) {
  BERTH_RETURN_IF_ERROR(MakeDir(fs::path(path).parent_path().string(), 0));
  fs::path host = Host(path);
  std::error_code ec;
  fs::remove(host, ec);
  fs::create_symlink(target, host, ec);
  if (ec) return Unavailable("cannot link " + host.string() + ": " + ec.message());
  hasher_->Field("link");
  hasher_->Field(path);
  hasher_->Field(target);
  return Status::Ok();
}

Status Rootfs::CopyProgram(const std::string& host_source, const std::string& path,
                           bool strip_debug) {
  auto libraries = SharedLibrariesOf(host_source);
  if (!libraries.ok()) {
    return Status(libraries.status().code(), "cannot list the libraries of " + host_source + ": " +
                                                 libraries.status().message());
  }
  BERTH_RETURN_IF_ERROR(CopyFile(host_source, path, 0755));
  if (strip_debug && OnPath("strip")) {
    // The digest stays that of the source: the same input always strips to the same output.
    auto stripped = RunProcess({"strip", "--strip-debug", Host(path).string()});
    if (!stripped.ok()) return stripped.status();
    if (stripped->exit_code != 0) {
      return Internal("strip --strip-debug " + host_source + " failed: " + Tail(stripped->err, 5));
    }
  }
  for (const std::string& library : *libraries) {
    if (fs::exists(Host(library))) continue;  // shared by an earlier program
    BERTH_RETURN_IF_ERROR(CopyFile(library, library, 0755));
  }
  return Status::Ok();
}

Status Rootfs::AddTree(Tree tree) {
  BERTH_RETURN_IF_ERROR(MakeDir(tree.image_parent, 0755));
  hasher_->Field("tree");
  hasher_->Field(tree.host_parent);
  hasher_->Field(tree.name);
  hasher_->Field(tree.image_parent);
  for (const auto& e : tree.excludes) hasher_->Field(e);
  trees_.push_back(std::move(tree));
  return Status::Ok();
}

void Rootfs::Digest(std::string_view label, std::string_view data) {
  hasher_->Field(label);
  hasher_->Field(data);
}

std::string Rootfs::DigestHex() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, hasher_->ctx);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(copy, digest, &size);
  EVP_MD_CTX_free(copy);
  return HexEncode(digest, size);
}

Result<std::string> Rootfs::WriteTar(const std::string& node_owned) {
  const std::string tar = (work_ / "rootfs.tar").string();
  std::string node_member = "./" + node_owned.substr(node_owned.find_first_not_of('/'));
  auto run = [](std::vector<std::string> argv) -> Status {
    auto result = RunProcess(argv);
    if (!result.ok()) return result.status();
    if (result->exit_code != 0) {
      return Internal("tar failed (exit " + std::to_string(result->exit_code) +
                      "): " + Tail(result->err, 10));
    }
    return Status::Ok();
  };
  const std::vector<std::string> root_owned = {"--numeric-owner", "--owner=0", "--group=0"};
  std::vector<std::string> argv = {"tar", "--create", "--file", tar};
  argv.insert(argv.end(), root_owned.begin(), root_owned.end());
  argv.insert(argv.end(), {"--directory", root_.string(), "--exclude=" + node_member, "."});
  BERTH_RETURN_IF_ERROR(run(argv));
  if (fs::exists(Host(node_owned))) {
    BERTH_RETURN_IF_ERROR(run({"tar", "--append", "--file", tar, "--numeric-owner", "--owner=1000",
                               "--group=1000", "--directory", root_.string(), node_member}));
  }
  for (const Tree& tree : trees_) {
    std::string parent = tree.image_parent.substr(tree.image_parent.find_first_not_of('/'));
    argv = {"tar", "--append", "--file", tar};
    argv.insert(argv.end(), root_owned.begin(), root_owned.end());
    // Readable (and directories searchable) by the node user, writable by no one else.
    argv.push_back("--mode=u+rwX,go+rX,go-w");
    // Renames member names only (r, h), never symlink targets (S), which are relative.
    argv.push_back("--transform=s,^" + tree.name + ",./" + parent + "/" + tree.name + ",rhS");
    for (const auto& e : tree.excludes) argv.push_back("--exclude=" + e);
    argv.insert(argv.end(), {"--directory", tree.host_parent, tree.name});
    BERTH_RETURN_IF_ERROR(run(argv));
  }
  return tar;
}

}  // namespace berth::image
