#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace berth::testing {

// A three-node Docker Swarm on this machine for tests, made by scripts/swarm-cluster.sh (read its
// header): one dockerd per network namespace, the first the manager, a registry holding the test
// agent image, everything named with a per-run prefix.
//
// Shared() attaches to the cluster of BERTH_TEST_SWARM_DIR when that is set (ctest's fixture
// `berth_swarm` brings it up before the swarm tests and down after them); otherwise it runs
// `swarm-cluster.sh up` into a temp dir at first use (~10 s) and `down` when the process exits
// normally (~9 s). A test process that dies on a signal leaves its own cluster behind: run
// `scripts/swarm-cluster.sh down DIR` (the dir is printed at up).
//
// Everything a test creates in the swarm (services, networks) it removes itself by id; a name
// starting with prefix() marks it as this cluster's. Not thread-safe; call from the test thread.
class SwarmTestCluster {
 public:
  struct Node {
    std::string name;         // the node's hostname, e.g. "bsw1a2b3-n0"
    std::string docker_host;  // its engine, "unix:///run/berth-swarm-<prefix>/n0.sock"
    std::string addr;         // its address on the link, which the host reaches
  };

  // The cluster, or nullptr with either *skip_reason (this machine cannot run it: not root, a
  // tool missing; tests GTEST_SKIP with it) or *error (it should run but did not come up).
  static SwarmTestCluster* Shared(std::string* skip_reason, std::string* error);
  // A cluster of the caller's own, for a test that breaks it (kills a node's engine): `up` now
  // (~10 s), `down` when the object is destroyed (~9 s). nullptr as Shared.
  static std::unique_ptr<SwarmTestCluster> Private(std::string* skip_reason, std::string* error);

  ~SwarmTestCluster();
  SwarmTestCluster(const SwarmTestCluster&) = delete;
  SwarmTestCluster& operator=(const SwarmTestCluster&) = delete;

  const std::string& prefix() const { return prefix_; }
  const std::string& manager_host() const { return nodes_.front().docker_host; }
  const std::vector<Node>& nodes() const { return nodes_; }
  // The host's address on the nodes' link: what agents in the swarm reach the host at.
  const std::string& host_addr() const { return host_addr_; }
  // "host:port" of the registry every node may pull from.
  const std::string& registry() const { return registry_; }
  // The pid of node `node`'s dockerd (from its pidfile), or -1.
  int DaemonPid(std::size_t node) const;
  // The test agent image by digest in that registry ("<registry>/berth/test-agent@sha256:...").
  const std::string& test_agent_image() const { return test_agent_image_; }

 private:
  SwarmTestCluster() = default;
  // `swarm-cluster.sh up` into a temp dir of the new object's own.
  static std::unique_ptr<SwarmTestCluster> BringUp(std::string* skip_reason, std::string* error);
  // Reads <dir>/cluster.env. False with *error when it is missing or incomplete.
  bool Load(const std::string& dir, std::string* error);

  std::unique_ptr<TempDir> owned_;  // set when this process brought the cluster up
  std::string dir_;
  std::string prefix_;
  std::vector<Node> nodes_;
  std::string host_addr_;
  std::string registry_;
  std::string test_agent_image_;
};

}  // namespace berth::testing
