#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::docker {
class DockerClient;
}  // namespace berth::docker

namespace berth::runtime {

struct SwarmNodeEnginesOptions {
  // The nodes' own engines, in DOCKER_HOST's forms (BERTH_SWARM_NODE_ENGINES).
  std::vector<std::string> hosts;
  std::string tls_verify;  // DOCKER_TLS_VERIFY, as for the manager
  std::string cert_path;   // DOCKER_CERT_PATH, as for the manager
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // An engine that did not answer is asked again after this long (not at every lookup).
  std::chrono::milliseconds retry_interval{std::chrono::seconds(10)};
};

// The engines of a swarm's nodes, by swarm node id: what a manager cannot do (write a file into a
// task's container, remove a node-local volume) goes to the engine of the node concerned.
//
// Engines are identified lazily, by their GET /info's Swarm.NodeID (the engine ID is no use: the
// nodes of the test cluster share one key, so one engine ID). A lookup of an unknown node id asks
// every engine not asked within retry_interval (so a node that rejoined under a new id is found
// again); an engine that does not answer is logged once per attempt and skipped. Thread-safe;
// engine calls are made without the lock held.
class SwarmNodeEngines {
 public:
  // kInvalidArgument naming BERTH_SWARM_NODE_ENGINES for a malformed address or unreadable TLS
  // files. Contacts no engine.
  static Result<std::unique_ptr<SwarmNodeEngines>> Create(const SwarmNodeEnginesOptions& options);
  ~SwarmNodeEngines();

  // The engine of node `node_id`, or nullptr when no listed engine says it is that node.
  std::shared_ptr<docker::DockerClient> ForNode(const std::string& node_id);

  struct Engine {
    std::string host;  // as listed
    std::shared_ptr<docker::DockerClient> client;
  };
  // Every listed engine, in the listed order, whether it answered yet or not.
  std::vector<Engine> All() const;
  bool empty() const { return engines_.empty(); }

 private:
  struct Entry {
    Engine engine;
    std::string node_id;                          // guarded by mu_; empty until it answered
    std::chrono::steady_clock::time_point asked;  // guarded by mu_; last /info attempt
    bool ever_asked = false;                      // guarded by mu_
  };
  SwarmNodeEngines(std::vector<Entry> engines, std::chrono::milliseconds retry_interval);

  // Asks the engines due for it (under no lock) which node they are.
  void Identify();

  const std::chrono::milliseconds retry_interval_;
  mutable std::mutex mu_;
  std::vector<Entry> engines_;  // fixed size after construction; node_id/asked guarded by mu_
};

}  // namespace berth::runtime
