#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/lifecycle/counting_runtime.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/docker_runtime.hpp"
#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"

namespace berth::bench {

// ---- small helpers shared by the lifecycle benchmarks -------------------------------------

// An integer setting from the environment; `fallback` when unset or not a number.
int64_t EnvInt(const char* name, int64_t fallback);
// A list of integers ("100,10") from the environment; `fallback` when unset.
std::vector<int64_t> EnvIntList(const char* name, std::vector<int64_t> fallback);

// MemAvailable of /proc/meminfo in MiB; -1 when unreadable.
int64_t MemAvailableMiB();

// Order statistics of a sample (nearest rank), in the sample's unit.
struct Summary {
  std::size_t n = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
Summary Summarize(std::vector<double> values);

double MillisSince(std::chrono::steady_clock::time_point start);

// Ctrl-C / SIGTERM: InstallInterruptHandler() blocks both signals (call it first in main, before
// any thread exists, so every thread inherits the mask) and starts a thread that waits for them
// and sets a flag the benchmark loops poll; they then stop and clean up. A second signal during
// cleanup is reported and otherwise ignored: cleanup removes what the run created.
void InstallInterruptHandler();
bool Interrupted();

// ---- the environment ------------------------------------------------------------------------

// Everything a lifecycle benchmark needs on the real engine, owned by one run:
// - a fresh SQLite store in a temp dir (LIFECYCLE_TMPDIR, else TMPDIR, else /tmp: on disk, as
//   in production, since starts write the store) with the real services (accounts, providers,
//   containers) and a random encryption key;
// - a DockerRuntime (DOCKER_HOST or the default socket) behind a CountingRuntime;
// - the agent network "berth-bench-<run id>" (isolated, labelled berth.bench-run=<run id>);
// - berth's internal endpoint (http::RegisterInternalRoutes) served in-process on the network's
//   gateway address, port 0, as `berth serve` does when MOSAIC_API_URL is not configured;
// - the test-agent image, imported as "berth-bench-test-agent:<run id>" through
//   image::BuildImage from the berth-test-agent binary (BENCH_TEST_AGENT_BINARY, else the one
//   next to the benchmark), unless BENCH_IMAGE names an image to use as it is.
//
// Cleanup() (also run by the destructor, and after Ctrl-C) removes, BY ID or by this run's own
// name, only what this run created: containers labelled berth.instance=<this store's instance
// id> or berth.bench-run=<run id> or tracked, then their volumes (same labels, or tracked), the
// network, the image it imported (by its per-run reference) and the temp dir. Nothing else on the
// engine is touched. Not thread-safe except where noted.
class LifecycleBenchEnv {
 public:
  static constexpr char kRunLabel[] = "berth.bench-run";

  // Sets everything up; progress on stderr. `bench_name` goes into messages only.
  static Result<std::unique_ptr<LifecycleBenchEnv>> Create(const std::string& bench_name);
  ~LifecycleBenchEnv();
  LifecycleBenchEnv(const LifecycleBenchEnv&) = delete;
  LifecycleBenchEnv& operator=(const LifecycleBenchEnv&) = delete;

  const std::string& run_id() const { return run_id_; }
  const std::string& instance_id() const { return instance_id_; }
  const std::string& image() const { return image_; }
  const std::string& api_url() const { return api_url_; }
  const runtime::NetworkInfo& network() const { return network_; }
  const std::string& engine_version() const { return engine_version_; }

  // The counted runtime (what managers and baselines call) and the engine underneath.
  const std::shared_ptr<CountingRuntime>& runtime() const { return runtime_; }
  runtime::DockerRuntime& docker() { return *docker_; }

  const store::StorePtr& store() const { return store_; }
  const std::shared_ptr<service::ContainerService>& containers() const { return containers_; }
  const std::shared_ptr<crypto::SecretBox>& secrets() const { return secrets_; }

  // Lifecycle options pointing at this run's image, network and endpoint; the scheduler's
  // periodic sweeps are pushed out to an hour (benchmarks call them when they want them).
  lifecycle::LifecycleOptions BaseOptions() const;

  // Stops the previous manager of this env (if any), then constructs a manager on this env's
  // store and counted runtime, Initialize()s and Start()s it, and waits until its event stream is
  // live. The env keeps it and stops it in Cleanup().
  Result<lifecycle::AgentManager*> StartManager(lifecycle::LifecycleOptions options,
                                                lifecycle::GatewayProbePtr probe);
  void StopManager();

  // A new user "bench-<run id>-<suffix>" (its agent is "mosaic-user-bench-<run id>-<suffix>").
  Result<std::string> NewUser(const std::string& suffix);
  // The user's container record with a fresh token, as the manager provisions it at first start.
  Result<service::ProvisionedUserContainer> Provision(const std::string& user_id);

  // The spec the manager builds for a user's agent (lifecycle::BuildContainerSpec: same env,
  // volume, network, limits, capabilities), under its own name and with this run's label instead
  // of berth's, for the raw-engine baselines: the manager never sees these containers.
  runtime::ContainerSpec RawSpec(const lifecycle::LifecycleOptions& options,
                                 const std::string& name, const std::string& record_id,
                                 const std::string& token) const;

  // Remembers a container or volume for Cleanup(), besides the label lists. Thread-safe.
  void TrackContainer(const std::string& id);
  void TrackVolume(const std::string& name);

  // Removes containers by id (forced) with `parallelism` threads; returns how many were removed
  // (ids already gone do not count; failures are reported on stderr). Thread-safe.
  std::size_t RemoveContainers(const std::vector<std::string>& ids, int parallelism);

  // See the class comment. Idempotent.
  void Cleanup();

  // "2 cores, 23.5 GiB, load 3.1 2.9 2.5, docker 20.10.24 (API 1.41)": for result headers.
  std::string MachineLine() const;

 private:
  LifecycleBenchEnv() = default;
  Status SetUp(const std::string& bench_name);

  std::string run_id_;
  std::string temp_dir_;
  ClockPtr clock_ = std::make_shared<SystemClock>();
  store::StorePtr store_;
  std::shared_ptr<crypto::SecretBox> secrets_;
  std::shared_ptr<service::AccountService> accounts_;
  std::shared_ptr<service::ProviderService> providers_;
  std::shared_ptr<service::ContainerService> containers_;
  std::string instance_id_;

  std::shared_ptr<runtime::DockerRuntime> docker_;
  std::shared_ptr<CountingRuntime> runtime_;
  std::string engine_version_;
  runtime::NetworkInfo network_;
  bool network_created_ = false;
  std::string image_;
  bool image_imported_ = false;

  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::thread server_thread_;
  std::string api_url_;

  std::unique_ptr<lifecycle::AgentManager> manager_;

  std::mutex mu_;
  std::set<std::string> containers_tracked_;  // guarded by mu_
  std::set<std::string> volumes_tracked_;     // guarded by mu_
  bool cleaned_ = false;
};

}  // namespace berth::bench
