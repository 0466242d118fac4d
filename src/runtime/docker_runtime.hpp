#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/container_runtime.hpp"

namespace berth::docker {
class DockerClient;
}  // namespace berth::docker

namespace berth::runtime {

struct DockerRuntimeOptions {
  // DOCKER_HOST forms (see docker::ParseDockerHost); empty: unix:///var/run/docker.sock.
  std::string docker_host;
  // DOCKER_TLS_VERIFY: non-empty turns TLS on with server verification and a client certificate.
  std::string tls_verify;
  // DOCKER_CERT_PATH: directory of ca.pem, cert.pem, key.pem; empty: ~/.docker.
  std::string cert_path;
  // Deadline of each engine call (stop adds the grace period; pulls get 30 minutes).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // Labels put on networks EnsureNetwork creates.
  Labels network_labels;
  // BERTH_AGENT_EGRESS: false ("berth-only") makes the networks EnsureNetwork creates internal
  // (nothing routed out) and refuses an existing one that is not, and the other way round.
  bool agent_egress = true;

  // docker_host as given, tls_verify and cert_path from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
  static DockerRuntimeOptions FromEnvironment(std::string docker_host);
};

// ContainerRuntime on a Docker engine (API 1.41, negotiated down for older engines). Engine verbs
// and states are translated at this boundary (docker_translate.hpp): events arrive as
// ContainerEventKind, states as ContainerState.
// Thread-safe; every call blocks until the engine answers or the call's deadline passes.
//
// Beyond the interface's contract:
// - Create runs every container with HostConfig.Init, SecurityOpt ["no-new-privileges"],
//   CapDrop ["ALL"] plus spec.cap_add, RestartPolicy "no", MemorySwap equal to Memory (no swap),
//   the volume as a Mounts entry (the engine creates it with the container's labels when missing),
//   and adds the label `berth.network=<spec.network>` so Inspect knows which address to report.
// - Kill of a container that is not running is success.
// - EnsureImage: kNotFound naming the image when it is missing and the pull fails; kUnavailable
//   only when the engine itself cannot be reached.
// - EnsureNetwork returns an existing network as it is, isolated or not, unless its egress
//   (DockerRuntimeOptions::agent_egress) differs: then kInvalidArgument saying what to do. The
//   engine does not keep network names unique under concurrent creates, so calls are serialized in
//   this process; when several processes race, the network with the smallest id wins and unused
//   duplicates are removed (by the loser at once when it sees the winner, else by the next
//   EnsureNetwork).
class DockerRuntime final : public ContainerRuntime {
 public:
  // kInvalidArgument for a malformed DOCKER_HOST or unreadable TLS files. Does not contact the
  // engine (Ping does).
  static Result<std::shared_ptr<DockerRuntime>> Create(const DockerRuntimeOptions& options);
  explicit DockerRuntime(std::unique_ptr<docker::DockerClient> client, Labels network_labels = {},
                         bool agent_egress = true);
  ~DockerRuntime() override;

  // The client underneath, for calls outside the interface (image import). Callers include
  // docker/docker_client.hpp and link berth_docker themselves: berth_runtime links it privately.
  docker::DockerClient& client() { return *client_; }

  Result<std::string> Ping() override;
  Status EnsureImage(const std::string& image) override;
  Result<NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) override;
  Result<std::string> Create(const ContainerSpec& spec) override;
  Status Start(const std::string& id) override;
  Status Stop(const std::string& id, std::chrono::seconds grace) override;
  Status Kill(const std::string& id) override;
  bool SupportsPause() const override { return true; }
  Status Pause(const std::string& id) override;
  Status Unpause(const std::string& id) override;
  Status SetCpuLimit(const std::string& id, int64_t nano_cpus) override;
  Status Remove(const std::string& id, bool force) override;
  Status RemoveVolume(const std::string& name) override;
  Result<ContainerInfo> Inspect(const std::string& id_or_name) override;
  Result<std::vector<ContainerSummary>> List(const Labels& labels) override;
  Result<std::string> Logs(const std::string& id, int tail) override;
  Status PutFile(const std::string& id, const FileSpec& file) override;
  Result<std::unique_ptr<EventStream>> Events(const Labels& labels) override;

  // The label naming the network whose address Inspect reports.
  static constexpr char kNetworkLabel[] = "berth.network";
  // The driver option that keeps containers on a bridge network from reaching each other.
  static constexpr char kIccOption[] = "com.docker.network.bridge.enable_icc";

 private:
  std::unique_ptr<docker::DockerClient> client_;
  const Labels network_labels_;
  const bool agent_egress_;
  std::mutex network_mu_;  // serializes EnsureNetwork
};

}  // namespace berth::runtime
