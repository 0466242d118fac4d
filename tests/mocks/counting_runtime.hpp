#pragma once

#include <atomic>

#include "runtime/container_runtime.hpp"

namespace berth::testing {

// Wraps a real runtime and counts the calls that pass through, by kind.
class CountingRuntime final : public runtime::ContainerRuntime {
 public:
  explicit CountingRuntime(runtime::ContainerRuntimePtr inner) : inner_(std::move(inner)) {}

  std::atomic<int> calls{0};
  std::atomic<int> creates{0};
  std::atomic<int> starts{0};

  Result<std::string> Ping() override { return ++calls, inner_->Ping(); }
  Status EnsureImage(const std::string& image) override {
    return ++calls, inner_->EnsureImage(image);
  }
  Result<runtime::NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) override {
    return ++calls, inner_->EnsureNetwork(name, isolated);
  }
  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    ++creates;
    return ++calls, inner_->Create(spec);
  }
  Status Start(const std::string& id) override {
    ++starts;
    return ++calls, inner_->Start(id);
  }
  Status Stop(const std::string& id, std::chrono::seconds grace) override {
    return ++calls, inner_->Stop(id, grace);
  }
  Status Kill(const std::string& id) override { return ++calls, inner_->Kill(id); }
  Status Remove(const std::string& id, bool force) override {
    return ++calls, inner_->Remove(id, force);
  }
  Status RemoveVolume(const std::string& name) override {
    return ++calls, inner_->RemoveVolume(name);
  }
  Result<runtime::ContainerInfo> Inspect(const std::string& id_or_name) override {
    return ++calls, inner_->Inspect(id_or_name);
  }
  Result<std::vector<runtime::ContainerSummary>> List(const runtime::Labels& labels) override {
    return ++calls, inner_->List(labels);
  }
  Result<std::string> Logs(const std::string& id, int tail) override {
    return ++calls, inner_->Logs(id, tail);
  }
  Status PutFile(const std::string& id, const FileSpec& file) override {
    return ++calls, inner_->PutFile(id, file);
  }
  Result<std::unique_ptr<runtime::EventStream>> Events(const runtime::Labels& labels) override {
    return ++calls, inner_->Events(labels);
  }

 private:
  runtime::ContainerRuntimePtr inner_;
};

}  // namespace berth::testing
