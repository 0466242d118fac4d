#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "common/metrics.hpp"
#include "http/chat_api.hpp"
#include "http/router.hpp"
#include "lifecycle/agent_manager.hpp"

namespace berth::http {

// berth's own metrics, fed by the HTTP servers (ServerOptions::on_request), the lifecycle's
// events and scrape-time reads of the agent manager and the chat routes; served at GET /metrics
// in Prometheus text format. No label carries a user, a token or a path with ids: routes are
// their patterns ("/api/providers/:id"). Thread-safe.
class BerthMetrics {
 public:
  BerthMetrics();

  // For ServerOptions::on_request: berth_http_requests_total and
  // berth_http_request_duration_seconds by route, method and status; config fetches too.
  std::function<void(const Request&, unsigned, std::chrono::steady_clock::duration)>
  RequestObserver();
  // For AgentManager::SetObserver: starts, their duration, failures by reason.
  void ObserveAgentEvent(const lifecycle::AgentEvent& event);
  // Agents by status, reaps and health failures, read at every scrape.
  void Watch(std::shared_ptr<lifecycle::AgentManager> agents);
  // Open streams (chats and event streams), read at every scrape.
  void Watch(std::shared_ptr<ChatStats> chats);

  std::string Render();
  MetricsRegistry& registry() { return registry_; }

 private:
  void WatchPool(std::shared_ptr<lifecycle::AgentManager> agents);

  MetricsRegistry registry_;
  CounterFamily& requests_;
  HistogramFamily& request_seconds_;
  CounterFamily& config_fetches_;
  CounterFamily& starts_;
  HistogramFamily& start_seconds_;
  CounterFamily& start_failures_;
  CounterFamily& reaps_;
  CounterFamily& pauses_;
  CounterFamily& health_failures_;
  CounterFamily& pool_hits_;
  CounterFamily& pool_misses_;
  CounterFamily& pool_keep_warms_;

  std::mutex mu_;
  std::shared_ptr<lifecycle::AgentManager> agents_;  // guarded by mu_
  int64_t reaps_seen_ = 0;                           // guarded by mu_
  int64_t pauses_seen_ = 0;                          // guarded by mu_
  int64_t health_failures_seen_ = 0;                 // guarded by mu_
  int64_t pool_hits_seen_ = 0;                       // guarded by mu_
  int64_t pool_misses_seen_ = 0;                     // guarded by mu_
  int64_t pool_keep_warms_seen_ = 0;                 // guarded by mu_
};

// GET /metrics. Unauthenticated, like most exporters: it holds counts only. Operators who want
// it private bind BERTH_LISTEN to an internal address or filter the path at their proxy.
void RegisterMetricsRoute(Router& router, std::shared_ptr<BerthMetrics> metrics);

}  // namespace berth::http
