#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace berth::testing {

// A stand-in for berth's internal endpoint: answers every HTTP request with 200 and `{}`, the
// agent config the test agent fetches from MOSAIC_API_URL before it listens. Listens on `addr`
// (e.g. the host's address on the swarm nodes' link) at a free port, on a thread of its own,
// until destroyed. port() is 0 when it could not listen.
class AgentConfigStub {
 public:
  explicit AgentConfigStub(const std::string& addr);
  ~AgentConfigStub();
  AgentConfigStub(const AgentConfigStub&) = delete;
  AgentConfigStub& operator=(const AgentConfigStub&) = delete;

  int port() const { return port_; }
  // MOSAIC_API_URL for agents: http://<addr>:<port>/api.
  std::string ApiUrl() const { return "http://" + addr_ + ":" + std::to_string(port_) + "/api"; }
  int requests() const { return requests_; }

 private:
  void Serve();

  std::string addr_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace berth::testing
