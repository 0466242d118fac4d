#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace berth::http {

// The listener agents reach berth on when MOSAIC_API_URL is not configured (ARCHITECTURE.md,
// "Trust boundaries"): bound to the agent network's gateway address (unless the
// BERTH_INTERNAL_LISTEN setting names a host), one thread, serving whatever `router` holds (the
// internal routes only). Opened once the agent network is known, by the lifecycle's first
// successful initialization; runs until Stop() or destruction. Thread-safe.
class InternalListener {
 public:
  using RequestObserver =
      std::function<void(const Request&, unsigned, std::chrono::steady_clock::duration)>;

  // `setting`: BERTH_INTERNAL_LISTEN ("[host]:port", an empty host meaning the agent network's
  // gateway, or "off"). The router must outlive the listener.
  InternalListener(std::string setting, const Router& router, RequestObserver on_request);
  ~InternalListener();

  // Binds on `gateway` (the agent network's gateway address) or the setting's host, starts
  // serving, and returns the API base URL agents are given ("http://<host>:<port>/api").
  // kInvalidArgument when the setting is "off" or malformed; the bind's error otherwise;
  // kUnavailable after Stop().
  Result<std::string> Open(const std::string& gateway);
  void Stop();

 private:
  const std::string setting_;
  const Router& router_;
  const RequestObserver on_request_;
  std::mutex mu_;
  bool stopped_ = false;            // guarded by mu_
  std::unique_ptr<Server> server_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::http
