#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../lifecycle_e2e/lifecycle_fixture.hpp"
#include "support/postgres_test_cluster.hpp"
#include "support/tcp_forwarder.hpp"

namespace berth::testing {

// Three `berth serve` replicas on one PostgreSQL database and one real engine, with the test
// agent, and the shared address operators put in front of them (a TcpForwarder on the agent
// network's gateway, which every agent's MOSAIC_API_URL names). Short leases (BERTH_LEASE_MS
// 2000) and a token cache long enough (60 s) that only the change feed can explain a
// deletion seen by another replica within a second. TearDown removes every replica, the
// database, and what they made on the engine, by id, pass or fail.
class ReplicasE2eTest : public LifecycleE2eTest {
 protected:
  static constexpr int kLeaseMs = 2000;

  void SetUp() override;
  void TearDown() override;

  // Starts replica i (0..2) with env_ and waits until /api/ready answers 200.
  void StartReplica(int i);
  void StartReplicas(int count = 3);
  BerthProcess& Replica(int i) { return *replicas_.at(static_cast<std::size_t>(i)); }
  void KillReplica(int i);  // SIGKILL, no cleanup by berth
  // The replica that says it leads the fleet (its log), or -1.
  int Leader() const;
  std::string DatabaseUrl() const { return url_; }
  // The database's instance id (what berth labels its containers with).
  std::string Instance() const;
  std::string InstanceId() override { return Instance(); }
  // Engine events of `event` for this database's containers since the test began.
  int EngineEvents(const std::string& event);

  PostgresTestCluster* cluster_ = nullptr;
  std::string database_;
  std::string url_;
  std::string since_;  // Unix seconds at SetUp, for `docker events --since`
  std::unique_ptr<TcpForwarder> front_;
  std::vector<std::unique_ptr<BerthProcess>> replicas_{3};
};

}  // namespace berth::testing
