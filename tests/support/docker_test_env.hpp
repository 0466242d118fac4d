#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "docker/docker_client.hpp"

namespace berth::testing {

// Per-process fixture for tests against the real Docker engine, which other test runs share.
//
// Ownership rule: everything a test creates on the engine carries Labels() (containers, networks,
// volumes; also volumes the engine creates from a Mounts entry with VolumeOptions labels) or is
// registered with Track*(), and its name starts with Name(""). When the test program ends (pass
// or fail; a gtest Environment runs Cleanup()), everything with this run's label or tracked is
// removed BY ID: containers (forced), then networks, volumes, then tracked and built images.
// Nothing else on the engine is ever touched.
//
// The engine: DOCKER_HOST (with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) or the default socket.
// Tests derive from DockerTest, whose SetUp fails loudly (never skips) when no engine answers.
// Part of berth_test_support, which every berth_add_test binary links. Thread-safe.
class DockerTestEnv {
 public:
  static constexpr char kRunLabel[] = "berth.test-run";

  // The process-wide instance, connected at first use.
  static DockerTestEnv& Get();

  // Ok when the engine answered GET /version at startup; else why not.
  const Status& engine_status() const { return engine_status_; }
  // The DOCKER_HOST value in use ("unix:///var/run/docker.sock" when unset).
  const std::string& docker_host() const { return docker_host_; }
  // Random, lowercase [0-9a-f]{10}: usable in names, labels and image tags.
  const std::string& run_id() const { return run_id_; }
  // "berth-test-<run id>-<suffix>".
  std::string Name(std::string_view suffix) const;
  // {"berth.test-run": run id}; add your own labels next to it.
  std::map<std::string, std::string> Labels() const;
  // REQUIRES: engine_status().ok().
  docker::DockerClient& client() { return *client_; }

  // A ~2 MB image (imported once per process through DockerClient::ImportImage from a rootfs
  // with /bin/busybox from Debian's busybox-static and links sh, sleep, nc, cat, echo, ls, stat,
  // ...; /tmp 1777; /home/node owned 1000:1000). Reference "berth-test-busybox:<run id>".
  // Entrypoint: /bin/sh -c 'eval "${BERTH_TEST_SCRIPT:-exec sleep 3600}"', so a container's
  // behaviour is chosen by env BERTH_TEST_SCRIPT (or by overriding the entrypoint).
  Result<std::string> BusyboxImage();

  void TrackContainer(const std::string& id);
  void TrackNetwork(const std::string& id);
  void TrackVolume(const std::string& name);
  void TrackImage(const std::string& id_or_reference);

  // Removes everything of this run (see above). Idempotent; reports leftovers on stderr.
  void Cleanup();

 private:
  DockerTestEnv();

  Status engine_status_;
  std::string docker_host_;
  std::string run_id_;
  std::unique_ptr<docker::DockerClient> client_;

  std::mutex mu_;
  std::string busybox_image_;  // guarded by mu_; empty until built
  std::set<std::string> containers_, networks_, volumes_, images_;  // guarded by mu_
};

// Base for tests that need the engine: SetUp asserts that it answers.
class DockerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  DockerTestEnv& env() { return DockerTestEnv::Get(); }
  docker::DockerClient& client() { return env().client(); }
};

}  // namespace berth::testing
