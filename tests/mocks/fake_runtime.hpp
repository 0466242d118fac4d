#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/gateway_probe.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::testing {

// An in-memory engine for unit tests of the lifecycle: containers are records that Start() marks
// running (or exited, when a test says so). Counts every call; emits events like an engine.
class FakeRuntime final : public runtime::ContainerRuntime {
  using Kind = runtime::ContainerEventKind;

 public:
  struct Container {
    runtime::ContainerSpec spec;
    std::string id;
    runtime::ContainerState state = runtime::ContainerState::kCreated;
    int exit_code = 0;
    bool oom = false;
    std::optional<std::chrono::system_clock::time_point> started_at;
    std::string ip;
    std::vector<runtime::ContainerRuntime::FileSpec> files;
    // The writes of the file called `name`, oldest first.
    std::vector<runtime::ContainerRuntime::FileSpec> Written(const std::string& name) const {
      std::vector<runtime::ContainerRuntime::FileSpec> out;
      for (const auto& f : files) {
        if (f.name == name) out.push_back(f);
      }
      return out;
    }
    int64_t nano_cpus = 0;  // the CPU limit now: created as Docker would, then SetCpuLimit's
  };

  // What Start() does: by default the container runs; a test may make it exit at once.
  std::function<void(Container&)> on_start;
  std::atomic<int> calls{0};
  std::atomic<int> creates{0};
  std::atomic<int> starts{0};
  std::atomic<int> pauses{0};
  std::atomic<int> unpauses{0};
  // False: pauses and resumes emit no event, as on Swarm, where they are made through a node's
  // engine whose events no replica watches.
  std::atomic<bool> pause_events{true};
  std::atomic<int> cpu_updates{0};
  bool image_present = true;
  std::optional<Status> start_error;  // what Start() answers instead, when set
  // Placement, as a runtime of several nodes answers it (unset: one engine, nothing to place).
  std::optional<runtime::NodePlacement> place_on;
  std::optional<Status> node_error;   // what CheckNode() answers, when set
  std::optional<Status> place_error;  // what PlaceAgent() answers instead, when set
  std::atomic<int> placements{0};
  // What EnsureNetwork() answers instead, when set (an engine that does not answer yet).
  void SetNetworkError(std::optional<Status> error) {
    std::lock_guard lock(mu_);
    network_error_ = std::move(error);
  }

  Result<std::string> Ping() override {
    ++calls;
    return std::string("fake");
  }
  Status EnsureImage(const std::string& image) override {
    ++calls;
    if (!image_present) return NotFound("image " + image + " not found");
    return Status::Ok();
  }
  Result<runtime::NetworkInfo> EnsureNetwork(const std::string& name, bool) override {
    ++calls;
    {
      std::lock_guard lock(mu_);
      if (network_error_) return *network_error_;
    }
    return runtime::NetworkInfo{"net-1", name, "172.30.0.0/16", "172.30.0.1", false, ""};
  }
  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    ++calls;
    ++creates;
    std::lock_guard lock(mu_);
    for (auto& [id, c] : containers_) {
      if (c.spec.name == spec.name) return AlreadyExists("name " + spec.name + " is taken");
    }
    Container c;
    c.spec = spec;
    c.nano_cpus = spec.nano_cpus > 0 ? std::max(spec.nano_cpus, spec.start_nano_cpus) : 0;
    c.id = "cid" + std::to_string(next_id_++);
    containers_[c.id] = c;
    Emit(c, Kind::kCreated, std::nullopt);
    return c.id;
  }
  Status Start(const std::string& id) override {
    ++calls;
    ++starts;
    if (start_error) return *start_error;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    Container& c = it->second;
    c.state = runtime::ContainerState::kRunning;
    c.started_at = std::chrono::system_clock::now();  // the clock Emit stamps events with
    c.ip = "10.0.0." + std::to_string(next_id_);
    if (on_start) on_start(c);
    Emit(c, Kind::kStarted, std::nullopt);
    if (c.state == runtime::ContainerState::kExited) Emit(c, Kind::kDied, c.exit_code);
    return Status::Ok();
  }
  Status Stop(const std::string& id, std::chrono::seconds) override {
    ++calls;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    if (it->second.state == runtime::ContainerState::kRunning ||
        it->second.state == runtime::ContainerState::kPaused) {
      it->second.state = runtime::ContainerState::kExited;
      it->second.ip.clear();
      Emit(it->second, Kind::kDied, 0);
    }
    return Status::Ok();
  }
  bool SupportsPause() const override { return true; }
  Status Pause(const std::string& id) override {
    ++calls;
    ++pauses;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    Container& c = it->second;
    if (c.state == runtime::ContainerState::kPaused) return Status::Ok();
    if (c.state != runtime::ContainerState::kRunning) return AlreadyExists(id + " is not running");
    c.state = runtime::ContainerState::kPaused;
    if (pause_events) Emit(c, Kind::kPaused, std::nullopt);
    return Status::Ok();
  }
  Status Unpause(const std::string& id) override {
    ++calls;
    ++unpauses;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    Container& c = it->second;
    if (c.state != runtime::ContainerState::kPaused) return Status::Ok();
    c.state = runtime::ContainerState::kRunning;
    if (pause_events) Emit(c, Kind::kUnpaused, std::nullopt);
    return Status::Ok();
  }
  Status SetCpuLimit(const std::string& id, int64_t nano_cpus) override {
    ++calls;
    ++cpu_updates;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    it->second.nano_cpus = nano_cpus;
    return Status::Ok();
  }
  Status Kill(const std::string& id) override {
    ++calls;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    it->second.state = runtime::ContainerState::kExited;
    it->second.exit_code = 137;
    Emit(it->second, Kind::kDied, 137);
    return Status::Ok();
  }
  Status Remove(const std::string& id, bool) override {
    ++calls;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    Emit(it->second, Kind::kDestroyed, std::nullopt);
    containers_.erase(it);
    return Status::Ok();
  }
  Status RemoveVolume(const std::string& name) override {
    ++calls;
    std::lock_guard lock(mu_);
    removed_volumes.push_back(name);
    return Status::Ok();
  }
  Result<runtime::ContainerInfo> Inspect(const std::string& id_or_name) override {
    ++calls;
    std::lock_guard lock(mu_);
    for (auto& [id, c] : containers_) {
      if (id == id_or_name || c.spec.name == id_or_name) {
        runtime::ContainerInfo info;
        info.id = c.id;
        info.name = c.spec.name;
        info.image = c.spec.image;
        info.labels = c.spec.labels;
        info.state = c.state;
        info.exit_code = c.exit_code;
        info.oom_killed = c.oom;
        info.started_at = c.started_at;
        info.ip_address = c.ip;
        return info;
      }
    }
    return NotFound("no container " + id_or_name);
  }
  Result<std::vector<runtime::ContainerSummary>> List(const runtime::Labels& labels) override {
    ++calls;
    std::lock_guard lock(mu_);
    std::vector<runtime::ContainerSummary> out;
    for (auto& [id, c] : containers_) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = c.spec.labels.find(k);
        if (it == c.spec.labels.end() || (!v.empty() && it->second != v)) match = false;
      }
      if (match) out.push_back({c.id, c.spec.name, c.spec.image, c.spec.labels, c.state});
    }
    return out;
  }
  // A fixed line, then one "config hot reload applied" per file put into the container (as the
  // test agent and OpenClaw log when they take a pushed config).
  Result<std::string> Logs(const std::string& id, int) override {
    ++calls;
    std::string logs = "fake agent: fatal: cannot fetch config\n";
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return logs;
    for (std::size_t i = 0; i < it->second.files.size(); ++i) {
      logs += "config hot reload applied\n";
    }
    return logs;
  }
  Status PutFile(const std::string& id, const FileSpec& file) override {
    ++calls;
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFound("no container " + id);
    it->second.files.push_back(file);
    return Status::Ok();
  }
  Result<std::optional<runtime::NodePlacement>> PlaceAgent(int64_t) override {
    ++calls;
    ++placements;
    if (place_error) return *place_error;
    return place_on;
  }
  Status CheckNode(const runtime::NodePlacement&) override {
    ++calls;
    return node_error.value_or(Status::Ok());
  }
  Result<std::unique_ptr<runtime::EventStream>> Events(const runtime::Labels&) override {
    ++calls;
    return std::unique_ptr<runtime::EventStream>(new Stream(this));
  }

  // Test access.
  std::map<std::string, Container> Snapshot() {
    std::lock_guard lock(mu_);
    return containers_;
  }
  void Mutate(const std::function<void(std::map<std::string, Container>&)>& f) {
    std::lock_guard lock(mu_);
    f(containers_);
  }
  // Makes a running container die as if killed behind berth's back.
  void Crash(const std::string& id, int code) {
    std::lock_guard lock(mu_);
    auto& c = containers_.at(id);
    c.state = runtime::ContainerState::kExited;
    c.exit_code = code;
    Emit(c, Kind::kDied, code);
  }
  // Ends every open event stream, as an engine restart does.
  void DropEventStreams() {
    std::lock_guard lock(mu_);
    ++generation_;
    cv_.notify_all();
  }
  std::vector<std::string> removed_volumes;

 private:
  class Stream final : public runtime::EventStream {
   public:
    explicit Stream(FakeRuntime* rt) : rt_(rt) {
      std::lock_guard lock(rt_->mu_);
      generation_ = rt_->generation_;
      position_ = rt_->events_.size();
    }
    Result<runtime::ContainerEvent> Next() override {
      std::unique_lock lock(rt_->mu_);
      rt_->cv_.wait(lock, [&] {
        return closed_ || generation_ != rt_->generation_ || position_ < rt_->events_.size();
      });
      if (closed_) return Unavailable("event stream closed");
      if (generation_ != rt_->generation_) return Unavailable("engine went away");
      return rt_->events_[position_++];
    }
    void Close() override {
      std::lock_guard lock(rt_->mu_);
      closed_ = true;
      rt_->cv_.notify_all();
    }

   private:
    FakeRuntime* rt_;
    int generation_ = 0;
    std::size_t position_ = 0;
    bool closed_ = false;
  };

  void Emit(const Container& c, Kind kind, std::optional<int> code) {
    runtime::ContainerEvent e;
    e.container_id = c.id;
    e.kind = kind;
    e.labels = c.spec.labels;
    e.exit_code = code;
    e.time = std::chrono::system_clock::now();
    events_.push_back(e);
    cv_.notify_all();
  }

  std::mutex mu_;
  std::optional<Status> network_error_;  // guarded by mu_
  std::condition_variable cv_;
  std::map<std::string, Container> containers_;
  std::deque<runtime::ContainerEvent> events_;
  int generation_ = 0;
  int next_id_ = 1;
};

// Answers /readyz with a status the test sets (200 by default) after an optional delay.
class FakeProbe final : public lifecycle::GatewayProbe {
 public:
  std::atomic<int> status{200};
  std::atomic<int> delay_ms{0};
  std::atomic<int> probes{0};
  Result<int> Get(const std::string&, int, const std::string&, std::chrono::milliseconds) override {
    ++probes;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    int s = status;
    if (s == 0) return Unavailable("connection refused");
    return s;
  }
  // Warm-up turns (WarmPool): answered `post_status` (0: refused).
  std::atomic<int> post_status{200};
  std::atomic<int> posts{0};
  // The gateway's config API (WarmPool): answered `rpc_status`, 404 like the test agent's; at 200
  // config.get answers `config` as "parsed" (keys redacted) and the hash "h<applies + 1>", and
  // config.apply takes a config (its params kept in `applied`, and it becomes `config`) only when
  // it names the current hash (409 otherwise, as OpenClaw refuses a stale one); others are errors.
  std::atomic<int> rpc_status{404};
  std::atomic<int> rpc_calls{0};
  std::mutex rpc_mu;
  std::vector<nlohmann::json> applied;
  nlohmann::json config;           // the gateway's current config; guarded by rpc_mu
  int changed_elsewhere = 0;       // changes made by others (they move the hash); rpc_mu
  std::function<void()> on_apply;  // runs in config.apply, before the hash check; set before use
  std::string Hash() const {       // rpc_mu held
    return "h" + std::to_string(applied.size() + changed_elsewhere + 1);
  }
  Result<lifecycle::GatewayAnswer> Post(const std::string&, int, const std::string& path,
                                        const std::string&, const std::string& body,
                                        std::chrono::milliseconds) override {
    if (path == "/api/v1/admin/rpc") {
      ++rpc_calls;
      const int s = rpc_status;
      if (s != 200) return lifecycle::GatewayAnswer{s, R"({"ok":false,"error":{"code":"E"}})"};
      const auto call = nlohmann::json::parse(body);
      if (call.at("method") == "config.get") {
        std::lock_guard lock(rpc_mu);
        nlohmann::json parsed = config;  // keys redacted, as OpenClaw shows them
        if (parsed.contains("models") && parsed["models"].contains("providers")) {
          for (auto& provider : parsed["models"]["providers"]) {
            if (provider.contains("apiKey")) provider["apiKey"] = "__OPENCLAW_REDACTED__";
          }
        }
        const nlohmann::json payload = {{"hash", Hash()}, {"parsed", parsed}};
        return lifecycle::GatewayAnswer{200,
                                        nlohmann::json{{"ok", true}, {"payload", payload}}.dump()};
      }
      if (on_apply) on_apply();
      std::lock_guard lock(rpc_mu);
      if (call.at("params").at("baseHash") != Hash()) {
        return lifecycle::GatewayAnswer{409, R"({"ok":false,"error":{"code":"STALE"}})"};
      }
      applied.push_back(call.at("params"));
      config = nlohmann::json::parse(call.at("params").at("raw").get<std::string>());
      return lifecycle::GatewayAnswer{200, R"({"ok":true,"payload":{"ok":true}})"};
    }
    ++posts;
    int s = post_status;
    if (s == 0) return Unavailable("connection refused");
    return lifecycle::GatewayAnswer{s, ""};
  }
};

}  // namespace berth::testing
