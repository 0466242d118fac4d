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

// A ContainerRuntime that forwards every call to another one, counting it and the time it took,
// so a benchmark can say how many engine round trips an operation made and how long they took.
// Every method of the interface counts as one call (Events counts once per subscription, timed
// until the subscription is answered; the events it then delivers do not count). Thread-safe.
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

  // Per-method call counts and time spent in them at one moment; subtract two to see what
  // happened in between.
  struct Counts {
    std::array<int64_t, kMethodCount> by_method{};
    std::array<int64_t, kMethodCount> nanos{};  // wall time inside the calls, summed
    double millis(Method m) const { return static_cast<double>(nanos[m]) / 1e6; }
    double total_millis() const {
      int64_t sum = 0;
      for (int64_t n : nanos) sum += n;
      return static_cast<double>(sum) / 1e6;
    }
    int64_t total() const {
      int64_t sum = 0;
      for (int64_t n : by_method) sum += n;
      return sum;
    }
    Counts operator-(const Counts& earlier) const {
      Counts d;
      for (int i = 0; i < kMethodCount; ++i) {
        d.by_method[i] = by_method[i] - earlier.by_method[i];
        d.nanos[i] = nanos[i] - earlier.nanos[i];
      }
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
    for (int i = 0; i < kMethodCount; ++i) {
      c.by_method[i] = counts_[i].load();
      c.nanos[i] = nanos_[i].load();
    }
    return c;
  }

  Result<std::string> Ping() override {
    Timed timed(this, kPing);
    return inner_->Ping();
  }
  Status EnsureImage(const std::string& image) override {
    Timed timed(this, kEnsureImage);
    return inner_->EnsureImage(image);
  }
  Result<runtime::NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) override {
    Timed timed(this, kEnsureNetwork);
    return inner_->EnsureNetwork(name, isolated);
  }
  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    Timed timed(this, kCreate);
    return inner_->Create(spec);
  }
  Status Start(const std::string& id) override {
    Timed timed(this, kStart);
    return inner_->Start(id);
  }
  Status Stop(const std::string& id, std::chrono::seconds grace) override {
    Timed timed(this, kStop);
    return inner_->Stop(id, grace);
  }
  Status Kill(const std::string& id) override {
    Timed timed(this, kKill);
    return inner_->Kill(id);
  }
  Status Remove(const std::string& id, bool force) override {
    Timed timed(this, kRemove);
    return inner_->Remove(id, force);
  }
  Status RemoveVolume(const std::string& name) override {
    Timed timed(this, kRemoveVolume);
    return inner_->RemoveVolume(name);
  }
  Result<runtime::ContainerInfo> Inspect(const std::string& id_or_name) override {
    Timed timed(this, kInspect);
    return inner_->Inspect(id_or_name);
  }
  Result<std::vector<runtime::ContainerSummary>> List(const runtime::Labels& labels) override {
    Timed timed(this, kList);
    return inner_->List(labels);
  }
  Result<std::string> Logs(const std::string& id, int tail) override {
    Timed timed(this, kLogs);
    return inner_->Logs(id, tail);
  }
  Status PutFile(const std::string& id, const FileSpec& file) override {
    Timed timed(this, kPutFile);
    return inner_->PutFile(id, file);
  }
  Result<std::unique_ptr<runtime::EventStream>> Events(const runtime::Labels& labels) override {
    Timed timed(this, kEvents);
    return inner_->Events(labels);
  }

 private:
  // Counts one call of `method` and, when it goes out of scope, the time since it was made.
  class Timed {
   public:
    Timed(CountingRuntime* owner, Method method)
        : owner_(owner), method_(method), begin_(std::chrono::steady_clock::now()) {
      owner_->counts_[method_].fetch_add(1, std::memory_order_relaxed);
    }
    ~Timed() {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - begin_)
                          .count();
      owner_->nanos_[method_].fetch_add(ns, std::memory_order_relaxed);
    }
    Timed(const Timed&) = delete;
    Timed& operator=(const Timed&) = delete;

   private:
    CountingRuntime* owner_;
    Method method_;
    std::chrono::steady_clock::time_point begin_;
  };

  runtime::ContainerRuntimePtr inner_;
  std::array<std::atomic<int64_t>, kMethodCount> counts_{};
  std::array<std::atomic<int64_t>, kMethodCount> nanos_{};
};

// A GatewayProbe that forwards to another one, counting the probes and the time they took.
// Thread-safe.
class CountingProbe final : public lifecycle::GatewayProbe {
 public:
  explicit CountingProbe(lifecycle::GatewayProbePtr inner) : inner_(std::move(inner)) {}
  Result<int> Get(const std::string& host, int port, const std::string& path,
                  std::chrono::milliseconds timeout) override {
    probes_.fetch_add(1, std::memory_order_relaxed);
    const auto begin = std::chrono::steady_clock::now();
    auto result = inner_->Get(host, port, path, timeout);
    nanos_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - begin)
                         .count(),
                     std::memory_order_relaxed);
    return result;
  }
  Result<lifecycle::GatewayAnswer> Post(const std::string& host, int port, const std::string& path,
                                        const std::string& bearer, const std::string& body,
                                        std::chrono::milliseconds timeout) override {
    return inner_->Post(host, port, path, bearer, body, timeout);
  }
  int64_t probes() const { return probes_.load(); }
  double millis() const { return static_cast<double>(nanos_.load()) / 1e6; }

 private:
  lifecycle::GatewayProbePtr inner_;
  std::atomic<int64_t> probes_{0};
  std::atomic<int64_t> nanos_{0};
};

}  // namespace berth::bench
