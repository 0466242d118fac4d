#include "replicas_e2e/replicas_fixture.hpp"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "store/store.hpp"

namespace berth::testing {

void ReplicasE2eTest::SetUp() {
  LifecycleE2eTest::SetUp();
  if (HasFatalFailure()) return;
  since_ = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  std::string error;
  cluster_ = PostgresTestCluster::Shared(&error);
  ASSERT_NE(cluster_, nullptr) << error;
  database_ = cluster_->CreateDatabase(&error);
  ASSERT_FALSE(database_.empty()) << error;
  url_ = cluster_->Url(database_, "sslmode=disable&query_timeout_ms=3000");

  // The agent network exists before the replicas, so the shared address can listen on its
  // gateway (berth uses a network that exists under its name).
  docker::NetworkCreate network;
  network.name = network_;
  network.options["com.docker.network.bridge.enable_icc"] = "false";
  network.labels = env().Labels();
  auto created = client().CreateNetwork(network);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  env().TrackNetwork(*created);
  auto details = client().InspectNetwork(*created);
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  // Backends are filled in as replicas start (ports are the engine's choice).
  front_ = std::make_unique<TcpForwarder>(details->gateway, std::vector<unsigned short>{});
  ASSERT_TRUE(front_->ok());

  env_["BERTH_DATABASE_URL"] = url_;
  env_["BERTH_LEASE_MS"] = std::to_string(kLeaseMs);
  env_["BERTH_TOKEN_CACHE_MS"] = "60000";
  env_["BERTH_INTERNAL_LISTEN"] = "off";
  env_["MOSAIC_API_URL"] =
      "http://" + details->gateway + ":" + std::to_string(front_->port()) + "/api";
}

void ReplicasE2eTest::TearDown() {
  for (auto& replica : replicas_) {
    if (replica) replica->Stop(SIGTERM, 30);
    replica.reset();
  }
  front_.reset();
  const std::string instance = url_.empty() ? "" : Instance();
  if (env().engine_status().ok()) RemoveWhatBerthMade(env(), instance, network_);
  if (cluster_ != nullptr && !database_.empty()) cluster_->DropDatabase(database_);
}

void ReplicasE2eTest::StartReplica(int i) {
  std::string error;
  auto& slot = replicas_.at(static_cast<std::size_t>(i));
  const std::string logs = dir_.File("replica" + std::to_string(i));
  std::filesystem::create_directories(logs);
  slot = BerthProcess::Start(logs, env_, {}, &error);
  ASSERT_NE(slot, nullptr) << error;
  front_->AddBackend(slot->port());
  bool ready = Eventually([&] { return slot->Get("/api/ready").status == 200; });
  ASSERT_TRUE(ready) << slot->Get("/api/ready").body << "\n" << slot->Stderr();
}

void ReplicasE2eTest::StartReplicas(int count) {
  for (int i = 0; i < count; ++i) {
    StartReplica(i);
    if (HasFatalFailure()) return;
  }
}

void ReplicasE2eTest::KillReplica(int i) {
  auto& slot = replicas_.at(static_cast<std::size_t>(i));
  ASSERT_NE(slot, nullptr);
  slot->Stop(SIGKILL, 10);
  slot.reset();
}

int ReplicasE2eTest::Leader() const {
  int leader = -1;
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    if (!replicas_[i]) continue;
    const std::string log = replicas_[i]->Stderr();
    const auto gained = log.rfind(") leads the fleet");
    const auto lost = log.rfind("no longer leads");
    if (gained != std::string::npos && (lost == std::string::npos || lost < gained)) {
      leader = static_cast<int>(i);
    }
  }
  return leader;
}

std::string ReplicasE2eTest::Instance() const {
  auto store = store::OpenStore(url_);
  if (!store.ok()) return "";
  auto id = (*store)->InstanceId();
  return id.ok() ? *id : "";
}

int ReplicasE2eTest::EngineEvents(const std::string& event) {
  const std::string instance = Instance();
  if (instance.empty()) return -1;
  const std::string command = "DOCKER_HOST='" + env().docker_host() + "' docker events --since " +
                              since_ + " --until $(($(date +%s) + 1)) --filter type=container --filter " +
                              "event=" + event + " --filter label=berth.instance=" + instance +
                              " --format " + "'{{.Actor.Attributes.name}}' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::string out;
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  int lines = 0;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find('\n', start);
    const std::string line = out.substr(start, end - start);
    if (!line.empty()) ++lines;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

}  // namespace berth::testing
