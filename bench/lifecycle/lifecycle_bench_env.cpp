#include "bench/lifecycle/lifecycle_bench_env.hpp"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "crypto/key_provider.hpp"
#include "http/api.hpp"
#include "image/agent_contract.hpp"
#include "image/image_builder.hpp"
#include "lifecycle/spec_builder.hpp"

namespace berth::bench {

// ---- helpers --------------------------------------------------------------------------------

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  long long parsed = std::strtoll(value, &end, 10);
  if (end == value || *end != '\0') {
    std::fprintf(stderr, "ignoring %s=%s: not an integer\n", name, value);
    return fallback;
  }
  return parsed;
}

std::vector<int64_t> EnvIntList(const char* name, std::vector<int64_t> fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  std::vector<int64_t> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    long long parsed = std::strtoll(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0') {
      std::fprintf(stderr, "ignoring %s=%s: not a list of integers\n", name, value);
      return fallback;
    }
    out.push_back(parsed);
  }
  return out.empty() ? fallback : out;
}

int64_t MemAvailableMiB() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib / 1024;
  }
  return -1;
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    // Nearest rank: the smallest value with at least q of the sample at or below it.
    std::size_t r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(r, 1, values.size()) - 1];
  };
  s.min = values.front();
  s.max = values.back();
  s.p50 = rank(0.50);
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  s.p999 = rank(0.999);
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  return s;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

namespace {

std::atomic<bool> g_interrupted{false};

std::string RandomHex(std::size_t chars) {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  while (out.size() < chars) out += kHex[rd() % 16];
  return out;
}

std::string RandomBytes(std::size_t n) {
  std::random_device rd;
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rd() & 0xff);
  return out;
}

// On disk, unlike the other benchmarks' tmpfs default: the start path writes the store, and
// production keeps its database on disk.
std::string BaseTempDir() {
  if (const char* dir = std::getenv("LIFECYCLE_TMPDIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return std::filesystem::temp_directory_path().string();  // TMPDIR, else /tmp
}

}  // namespace

void InstallInterruptHandler() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (!g_interrupted.exchange(true)) {
        std::fprintf(stderr,
                     "\ninterrupted (%s): stopping after the current step, then removing "
                     "everything this run created\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
      } else {
        std::fprintf(stderr, "cleanup is under way; it removes only what this run created\n");
      }
    }
  }).detach();
}

bool Interrupted() { return g_interrupted.load(); }

// ---- the environment ------------------------------------------------------------------------

Result<std::unique_ptr<LifecycleBenchEnv>> LifecycleBenchEnv::Create(
    const std::string& bench_name) {
  std::unique_ptr<LifecycleBenchEnv> env(new LifecycleBenchEnv());
  Status st = env->SetUp(bench_name);
  if (!st.ok()) {
    env->Cleanup();
    return st;
  }
  return env;
}

LifecycleBenchEnv::~LifecycleBenchEnv() { Cleanup(); }

Status LifecycleBenchEnv::SetUp(const std::string& bench_name) {
  run_id_ = RandomHex(10);
  std::fprintf(stderr, "[%s] run id %s\n", bench_name.c_str(), run_id_.c_str());

  // Store and services.
  std::string pattern = BaseTempDir() + "/berth-bench-lifecycle.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Unavailable("cannot create a temp dir under " + BaseTempDir());
  }
  temp_dir_ = pattern;
  auto opened = store::OpenStore("sqlite://" + temp_dir_ + "/berth.db");
  if (!opened.ok()) return opened.status();
  store_ = *opened;
  auto instance = store_->InstanceId();
  if (!instance.ok()) return instance.status();
  instance_id_ = *instance;
  secrets_ = std::make_shared<crypto::SecretBox>(
      std::make_shared<crypto::StaticKeyProvider>(RandomBytes(32)));
  accounts_ = std::make_shared<service::AccountService>(store_, clock_, std::nullopt);
  providers_ = std::make_shared<service::ProviderService>(store_, secrets_, clock_);
  containers_ = std::make_shared<service::ContainerService>(store_, secrets_, providers_, clock_);

  // Engine.
  const char* host = std::getenv("DOCKER_HOST");
  auto engine_options = runtime::DockerRuntimeOptions::FromEnvironment(host ? host : "");
  engine_options.network_labels = {{kRunLabel, run_id_}};
  auto docker = runtime::DockerRuntime::Create(engine_options);
  if (!docker.ok()) return docker.status();
  docker_ = *docker;
  runtime_ = std::make_shared<CountingRuntime>(docker_);
  auto version = docker_->Ping();
  if (!version.ok()) return Unavailable("container engine: " + version.status().message());
  engine_version_ = *version;

  // Image.
  if (const char* given = std::getenv("BENCH_IMAGE"); given != nullptr && *given != '\0') {
    image_ = given;
    std::fprintf(stderr, "[%s] using image %s (BENCH_IMAGE)\n", bench_name.c_str(), image_.c_str());
  } else {
    image::ImageBuildOptions build;
    build.kind = image::ImageKind::kTestAgent;
    build.reference = "berth-bench-test-agent:" + run_id_;
    if (const char* binary = std::getenv("BENCH_TEST_AGENT_BINARY")) build.binary = binary;
    build.work_parent = temp_dir_;
    build.progress = [&bench_name](const std::string& line) {
      std::fprintf(stderr, "[%s] image: %s\n", bench_name.c_str(), line.c_str());
    };
    auto built = image::BuildImage(docker_->client(), build);
    if (!built.ok()) {
      return Status(built.status().code(), "test-agent image: " + built.status().message());
    }
    image_ = built->reference;
    image_imported_ = !built->reused;
    std::fprintf(stderr, "[%s] image %s (%s)\n", bench_name.c_str(), image_.c_str(),
                 built->id.c_str());
  }

  // Network and the internal endpoint on its gateway address.
  auto network = docker_->EnsureNetwork("berth-bench-" + run_id_, /*isolated=*/true);
  if (!network.ok()) return network.status();
  network_ = *network;
  network_created_ = true;
  router_ = std::make_unique<http::Router>();
  http::ApiServices services;
  services.store = store_;
  services.accounts = accounts_;
  services.providers = providers_;
  services.containers = containers_;
  http::RegisterInternalRoutes(*router_, services);
  http::ServerOptions server_options;
  server_options.host = network_.gateway;
  server_options.port = 0;
  server_options.threads = 1;  // as berth serve's internal listener
  server_ = std::make_unique<http::Server>(server_options, *router_);
  BERTH_RETURN_IF_ERROR(server_->Listen());
  server_thread_ = std::thread([s = server_.get()] { s->Run(); });
  api_url_ = "http://" + network_.gateway + ":" + std::to_string(server_->port()) + "/api";
  std::fprintf(stderr, "[%s] network %s (%s), internal endpoint %s\n", bench_name.c_str(),
               network_.name.c_str(), network_.subnet.c_str(), api_url_.c_str());
  return Status::Ok();
}

lifecycle::LifecycleOptions LifecycleBenchEnv::BaseOptions() const {
  lifecycle::LifecycleOptions o;
  o.image = image_;
  o.contract = image::AgentContract();
  o.network = network_.name;
  o.api_url = api_url_;
  o.reap_interval = o.health_interval = std::chrono::hours(1);
  return o;
}

Result<lifecycle::AgentManager*> LifecycleBenchEnv::StartManager(
    lifecycle::LifecycleOptions options, lifecycle::GatewayProbePtr probe) {
  StopManager();
  manager_ = std::make_unique<lifecycle::AgentManager>(options, store_, runtime_, containers_,
                                                       providers_, secrets_, probe, clock_);
  BERTH_RETURN_IF_ERROR(manager_->Initialize());
  manager_->Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!manager_->events_live()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("the manager's event stream did not come up within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return manager_.get();
}

void LifecycleBenchEnv::StopManager() {
  if (manager_) manager_->Stop();
  manager_.reset();
}

Result<std::string> LifecycleBenchEnv::NewUser(const std::string& suffix) {
  const std::string id = "bench-" + run_id_ + "-" + suffix;
  auto created = accounts_->CreateUser({id, std::nullopt, id});
  if (!created.ok()) return created.status();
  return created->user.id;
}

Result<service::ProvisionedUserContainer> LifecycleBenchEnv::Provision(const std::string& user_id) {
  return containers_->ProvisionUserContainer(user_id, /*rotate=*/false);
}

runtime::ContainerSpec LifecycleBenchEnv::RawSpec(const lifecycle::LifecycleOptions& options,
                                                  const std::string& name,
                                                  const std::string& record_id,
                                                  const std::string& token) const {
  lifecycle::AgentRecord record;
  record.key = lifecycle::AgentKey::User(name);
  record.id = record_id;
  record.container_name = name;
  runtime::ContainerSpec spec =
      lifecycle::BuildContainerSpec(record, token, options, {"", options.api_url, ""});
  spec.labels = {{kRunLabel, run_id_}, {"berth.bench-record", record_id}};
  return spec;
}

void LifecycleBenchEnv::TrackContainer(const std::string& id) {
  std::lock_guard lock(mu_);
  containers_tracked_.insert(id);
}

void LifecycleBenchEnv::TrackVolume(const std::string& name) {
  std::lock_guard lock(mu_);
  volumes_tracked_.insert(name);
}

std::size_t LifecycleBenchEnv::RemoveContainers(const std::vector<std::string>& ids,
                                                int parallelism) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> removed{0};
  auto work = [&] {
    for (std::size_t i = next++; i < ids.size(); i = next++) {
      Status st = docker_->Remove(ids[i], /*force=*/true);
      if (st.ok()) {
        ++removed;
      } else if (st.code() != ErrorCode::kNotFound) {
        std::fprintf(stderr, "cleanup: cannot remove container %s: %s\n",
                     ids[i].substr(0, 12).c_str(), st.message().c_str());
      }
    }
  };
  std::vector<std::thread> pool;
  const int n = std::max(1, std::min<int>(parallelism, static_cast<int>(ids.size())));
  for (int i = 1; i < n; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return removed.load();
}

void LifecycleBenchEnv::Cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  StopManager();
  if (docker_) {
    // Containers: this store's instance label (the manager's), this run's label (baselines),
    // and every id tracked. Listed again after removal in case a start raced the first list.
    for (int pass = 0; pass < 2; ++pass) {
      std::set<std::string> ids;
      {
        std::lock_guard lock(mu_);
        if (pass == 0) ids = containers_tracked_;
      }
      const runtime::Labels label_sets[] = {{{"berth.instance", instance_id_}},
                                            {{kRunLabel, run_id_}}};
      for (const auto& labels : label_sets) {
        if (labels.begin()->second.empty()) continue;
        auto listed = docker_->List(labels);
        if (listed.ok()) {
          for (const auto& c : *listed) ids.insert(c.id);
        } else {
          std::fprintf(stderr, "cleanup: cannot list containers: %s\n",
                       listed.status().message().c_str());
        }
      }
      if (ids.empty()) continue;
      const std::size_t removed =
          RemoveContainers(std::vector<std::string>(ids.begin(), ids.end()), 4);
      if (removed > 0) std::fprintf(stderr, "cleanup: removed %zu containers\n", removed);
    }
    // Volumes: the engine created them from the containers' mounts with the containers' labels.
    std::set<std::string> volumes;
    {
      std::lock_guard lock(mu_);
      volumes = volumes_tracked_;
    }
    const docker::LabelMap volume_labels[] = {{{"berth.instance", instance_id_}},
                                              {{kRunLabel, run_id_}}};
    for (const auto& labels : volume_labels) {
      if (labels.begin()->second.empty()) continue;
      auto listed = docker_->client().ListVolumes(labels);
      if (listed.ok()) {
        for (const auto& v : *listed) volumes.insert(v.name);
      }
    }
    std::size_t volumes_removed = 0;
    for (const auto& name : volumes) {
      Status st = docker_->client().RemoveVolume(name, /*force=*/false);
      if (st.ok()) {
        ++volumes_removed;
      } else if (st.code() != ErrorCode::kNotFound) {
        std::fprintf(stderr, "cleanup: cannot remove volume %s: %s\n", name.c_str(),
                     st.message().c_str());
      }
    }
    if (volumes_removed > 0) {
      std::fprintf(stderr, "cleanup: removed %zu volumes\n", volumes_removed);
    }
  }
  if (server_) server_->Stop();
  if (server_thread_.joinable()) server_thread_.join();
  server_.reset();
  if (docker_ && network_created_ && !network_.id.empty()) {
    Status st = docker_->client().RemoveNetwork(network_.id);
    if (!st.ok() && st.code() != ErrorCode::kNotFound) {
      std::fprintf(stderr, "cleanup: cannot remove network %s: %s\n", network_.name.c_str(),
                   st.message().c_str());
    }
  }
  if (docker_ && image_imported_) {
    // By this run's own reference: untags it, and deletes the image unless another tag names it.
    Status st = docker_->client().RemoveImage(image_, /*force=*/false);
    if (!st.ok() && st.code() != ErrorCode::kNotFound) {
      std::fprintf(stderr, "cleanup: cannot remove image %s: %s\n", image_.c_str(),
                   st.message().c_str());
    }
  }
  store_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

std::string LifecycleBenchEnv::MachineLine() const {
  std::ifstream loadavg("/proc/loadavg");
  std::string l1, l5, l15;
  loadavg >> l1 >> l5 >> l15;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%u cores, MemAvailable %lld MiB, load %s %s %s, %s",
                std::thread::hardware_concurrency(), static_cast<long long>(MemAvailableMiB()),
                l1.c_str(), l5.c_str(), l15.c_str(), engine_version_.c_str());
  return buffer;
}

}  // namespace berth::bench
