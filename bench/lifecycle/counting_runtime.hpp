#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "lifecycle/gateway_probe.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::bench {

// A ContainerRuntime that forwards every call to another one and counts it, so a benchmark can
// say how many engine round trips an operation made. Every method of the interface counts as one
// call (Events counts once per subscription; the events it then delivers do not). Thread-safe.
class CountingRuntime final : public runtime::ContainerRuntime {
 public:
  enum Method {
    kPing,
    kEnsureImage,
    kEnsureNetwork,
    kCreate,
    kStart,
    kStop,
    kKill,
    kRemove,
    kRemoveVolume,
    kInspect,
    kList,
    kLogs,
    kPutFile,
    kEvents,
    kMethodCount
  };
  static constexpr std::array<const char*, kMethodCount> kMethodNames = {
      "Ping",   "EnsureImage",  "EnsureNetwork", "Create", "Start", "Stop",    "Kill",
      "Remove", "RemoveVolume", "Inspect",       "List",   "Logs",  "PutFile", "Events"};

  // Per-method call counts at one moment; subtract two to count what happened in between.
  struct Counts {
    std::array<int64_t, kMethodCount> by_method{};
    int64_t total() const {
      int64_t sum = 0;
      for (int64_t n : by_method) sum += n;
      return sum;
    }
    Counts operator-(const Counts& earlier) const {
      Counts d;
      for (int i = 0; i < kMethodCount; ++i) d.by_method[i] = by_method[i] - earlier.by_method[i];
      return d;
    }
    // "Inspect 3, Create 1, ..." for the methods with a non-zero count; "none" when all are 0.
    std::string Describe() const {
      std::string out;
      for (int i = 0; i < kMethodCount; ++i) {
        if (by_method[i] == 0) continue;
        if (!out.empty()) out += ", ";
        out += std::string(kMethodNames[i]) + " " + std::to_string(by_method[i]);
      }
      return out.empty() ? "none" : out;
    }
  };

  explicit CountingRuntime(runtime::ContainerRuntimePtr inner) : inner_(std::move(inner)) {}

  Counts Snapshot() const {
    Counts c;
    for (int i = 0; i < kMethodCount; ++i) c.by_method[i] = counts_[i].load();
    return c;
  }

  Result<std::string> Ping() override {
    Count(kPing);
    return inner_->Ping();
  }
  Status EnsureImage(const std::string& image) override {
    Count(kEnsureImage);
    return inner_->EnsureImage(image);
  }
  Result<runtime::NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) override {
    Count(kEnsureNetwork);
    return inner_->EnsureNetwork(name, isolated);
  }
  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    Count(kCreate);
    return inner_->Create(spec);
  }
  Status Start(const std::string& id) override {
    Count(kStart);
    return inner_->Start(id);
  }
  Status Stop(const std::string& id, std::chrono::seconds grace) override {
    Count(kStop);
    return inner_->Stop(id, grace);
  }
  Status Kill(const std::string& id) override {
    Count(kKill);
    return inner_->Kill(id);
  }
  Status Remove(const std::string& id, bool force) override {
    Count(kRemove);
    return inner_->Remove(id, force);
  }
  Status RemoveVolume(const std::string& name) override {
    Count(kRemoveVolume);
    return inner_->RemoveVolume(name);
  }
  Result<runtime::ContainerInfo> Inspect(const std::string& id_or_name) override {
    Count(kInspect);
    return inner_->Inspect(id_or_name);
  }
  Result<std::vector<runtime::ContainerSummary>> List(const runtime::Labels& labels) override {
    Count(kList);
    return inner_->List(labels);
  }
  Result<std::string> Logs(const std::string& id, int tail) override {
    Count(kLogs);
    return inner_->Logs(id, tail);
  }
  Status PutFile(const std::string& id, const FileSpec& file) override {
    Count(kPutFile);
    return inner_->PutFile(id, file);
  }
  Result<std::unique_ptr<runtime::EventStream>> Events(const runtime::Labels& labels) override {
    Count(kEvents);
    return inner_->Events(labels);
  }

 private:
  void Count(Method m) { counts_[m].fetch_add(1, std::memory_order_relaxed); }

  runtime::ContainerRuntimePtr inner_;
  std::array<std::atomic<int64_t>, kMethodCount> counts_{};
};

// A GatewayProbe that forwards to another one and counts the probes. Thread-safe.
class CountingProbe final : public lifecycle::GatewayProbe {
 public:
  explicit CountingProbe(lifecycle::GatewayProbePtr inner) : inner_(std::move(inner)) {}
  Result<int> Get(const std::string& host, int port, const std::string& path,
                  std::chrono::milliseconds timeout) override {
    probes_.fetch_add(1, std::memory_order_relaxed);
    return inner_->Get(host, port, path, timeout);
  }
  int64_t probes() const { return probes_.load(); }

 private:
  lifecycle::GatewayProbePtr inner_;
  std::atomic<int64_t> probes_{0};
};

}  // namespace berth::bench
