#include "support/docker_test_env.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "docker/docker_host.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

std::atomic<DockerTestEnv*> g_instance{nullptr};

std::string RandomRunId() {
  std::random_device rd;
  std::mt19937_64 rng((uint64_t{rd()} << 32) ^ rd());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 10; ++i) id += kHex[rng() % 16];
  return id;
}

// Removes the run's engine objects at the end of the program, whatever the tests' outcome.
class CleanupEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (DockerTestEnv* env = g_instance.load()) env->Cleanup();
  }
};

[[maybe_unused]] const ::testing::Environment* const g_cleanup =
    ::testing::AddGlobalTestEnvironment(new CleanupEnvironment);

void Report(const Status& status, const std::string& what) {
  if (status.ok() || status.code() == ErrorCode::kNotFound) return;
  std::fprintf(stderr, "docker_test_env: could not remove %s: %s\n", what.c_str(),
               status.ToString().c_str());
}

constexpr const char* kBusyboxLinks[] = {
    "sh",   "sleep", "nc",    "cat",  "echo",  "ls",   "stat", "id",   "env",     "mkdir",
    "kill", "true",  "false", "test", "[",     "wc",   "head", "tail", "grep",    "printf",
    "date", "touch", "rm",    "ps",   "mount", "sync", "tr",   "expr", "hostname"};

// The rootfs tarball for BusyboxImage(), built with the tar program.
Status BuildBusyboxTar(const fs::path& dir, const std::string& tar_path) {
  const fs::path busybox = "/bin/busybox";
  if (!fs::exists(busybox)) {
    return Internal(
        "/bin/busybox is missing: install Debian's busybox-static "
        "(scripts/install-deps.sh --test)");
  }
  const fs::path rootfs = dir / "rootfs";
  std::error_code ec;
  fs::create_directories(rootfs / "bin", ec);
  fs::create_directories(rootfs / "tmp", ec);
  fs::create_directories(rootfs / "etc", ec);
  fs::create_directories(rootfs / "home" / "node", ec);
  if (ec) return Internal("cannot create " + rootfs.string() + ": " + ec.message());
  fs::permissions(rootfs / "tmp", fs::perms::all | fs::perms::sticky_bit, ec);
  fs::copy_file(busybox, rootfs / "bin" / "busybox", ec);
  if (ec) return Internal("cannot copy /bin/busybox: " + ec.message());
  for (const char* link : kBusyboxLinks) {
    fs::create_symlink("busybox", rootfs / "bin" / link, ec);
    if (ec) return Internal(std::string("cannot link ") + link + ": " + ec.message());
  }
  const std::string command = "tar --numeric-owner --owner=0 --group=0 -C '" + rootfs.string() +
                              "' -cf '" + tar_path + "' .";
  if (std::system(command.c_str()) != 0) return Internal("failed: " + command);
  return Status::Ok();
}

}  // namespace

DockerTestEnv& DockerTestEnv::Get() {
  static DockerTestEnv* env = [] {
    auto* created = new DockerTestEnv();  // lives until exit: the cleanup environment uses it
    g_instance = created;
    return created;
  }();
  return *env;
}

DockerTestEnv::DockerTestEnv() : run_id_(RandomRunId()) {
  const char* host = std::getenv("DOCKER_HOST");
  docker_host_ = host && *host ? host : docker::kDefaultDockerHost;
  auto endpoint = docker::EndpointFromEnvironment();
  if (!endpoint.ok()) {
    engine_status_ = endpoint.status();
    return;
  }
  auto client = docker::DockerClient::Create(std::move(endpoint).value());
  if (!client.ok()) {
    engine_status_ = client.status();
    return;
  }
  client_ = std::move(client).value();
  auto version = client_->Version();
  if (!version.ok()) engine_status_ = version.status();
}

std::string DockerTestEnv::Name(std::string_view suffix) const {
  return "berth-test-" + run_id_ + "-" + std::string(suffix);
}

std::map<std::string, std::string> DockerTestEnv::Labels() const { return {{kRunLabel, run_id_}}; }

Result<std::string> DockerTestEnv::BusyboxImage() {
  if (!engine_status_.ok()) return engine_status_;
  std::lock_guard lock(mu_);
  if (!busybox_image_.empty()) return busybox_image_;
  TempDir dir;
  const std::string tar_path = dir.File("rootfs.tar");
  BERTH_RETURN_IF_ERROR(BuildBusyboxTar(dir.path(), tar_path));
  const std::string reference = "berth-test-busybox:" + run_id_;
  auto id = client_->ImportImage(
      tar_path, reference,
      {"ENV PATH=/bin", std::string("LABEL ") + kRunLabel + "=" + run_id_,
       R"(ENTRYPOINT ["/bin/sh", "-c", "eval \"${BERTH_TEST_SCRIPT:-exec sleep 3600}\""])"});
  if (!id.ok()) return id.status();
  images_.insert(*id);
  busybox_image_ = reference;
  return busybox_image_;
}

void DockerTestEnv::TrackContainer(const std::string& id) {
  std::lock_guard lock(mu_);
  containers_.insert(id);
}
void DockerTestEnv::TrackNetwork(const std::string& id) {
  std::lock_guard lock(mu_);
  networks_.insert(id);
}
void DockerTestEnv::TrackVolume(const std::string& name) {
  std::lock_guard lock(mu_);
  volumes_.insert(name);
}
void DockerTestEnv::TrackImage(const std::string& id_or_reference) {
  std::lock_guard lock(mu_);
  images_.insert(id_or_reference);
}

void DockerTestEnv::Cleanup() {
  if (!client_) return;
  std::lock_guard lock(mu_);
  const auto labels = Labels();
  std::set<std::string> containers = containers_;
  if (auto listed = client_->ListContainers(labels, /*all=*/true); listed.ok()) {
    for (const auto& c : *listed) containers.insert(c.id);
  } else {
    Report(listed.status(), "containers of run " + run_id_);
  }
  for (const std::string& id : containers) {
    Report(client_->RemoveContainer(id, /*force=*/true, /*remove_anonymous_volumes=*/true),
           "container " + id);
  }
  std::set<std::string> networks = networks_;
  if (auto listed = client_->ListNetworks(labels); listed.ok()) {
    for (const auto& n : *listed) networks.insert(n.id);
  } else {
    Report(listed.status(), "networks of run " + run_id_);
  }
  for (const std::string& id : networks) Report(client_->RemoveNetwork(id), "network " + id);
  std::set<std::string> volumes = volumes_;
  if (auto listed = client_->ListVolumes(labels); listed.ok()) {
    for (const auto& v : *listed) volumes.insert(v.name);
  } else {
    Report(listed.status(), "volumes of run " + run_id_);
  }
  for (const std::string& name : volumes) {
    Report(client_->RemoveVolume(name, /*force=*/true), "volume " + name);
  }
  for (const std::string& image : images_) {
    Report(client_->RemoveImage(image, /*force=*/true), "image " + image);
  }
  containers_.clear();
  networks_.clear();
  volumes_.clear();
  images_.clear();
  busybox_image_.clear();
}

void DockerTest::SetUp() {
  const Status& status = DockerTestEnv::Get().engine_status();
  ASSERT_TRUE(status.ok()) << "no Docker engine answers at " << DockerTestEnv::Get().docker_host()
                           << ": " << status.ToString()
                           << " (start one with scripts/start-dockerd.sh, or set DOCKER_HOST)";
}

}  // namespace berth::testing
