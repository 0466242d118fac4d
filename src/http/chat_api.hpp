#pragma once

#include <chrono>
#include <memory>

#include "http/router.hpp"
#include "http/work_pool.hpp"
#include "lifecycle/agent_manager.hpp"
#include "proxy/agent_events.hpp"
#include "proxy/chat_limiter.hpp"
#include "proxy/gateway_exchange.hpp"
#include "proxy/gateway_pool.hpp"
#include "service/providers.hpp"

namespace berth::http {

struct ChatOptions {
  // Between SSE comment lines sent to a streaming client while its agent starts.
  std::chrono::milliseconds start_keepalive{10000};
  // Longest silence of the gateway (before its answer and between two pieces of it).
  std::chrono::seconds idle_gap{300};
  std::chrono::milliseconds connect_timeout{5000};
  // Between SSE comment lines on GET /api/agent/events when nothing happens.
  std::chrono::milliseconds events_keepalive{15000};
};

// Counters the chat routes keep, for GET /metrics. Thread-safe (atomics).
struct ChatStats {
  std::atomic<std::int64_t> open_streams{0};
};

struct ChatServices {
  std::shared_ptr<service::ProviderService> providers;
  // Null or not yet initialized: chat answers 503.
  std::shared_ptr<lifecycle::AgentManager> agents;
  std::shared_ptr<proxy::ChatLimiter> limiter;
  std::shared_ptr<proxy::GatewayPool> pool;
  std::shared_ptr<proxy::AgentEventHub> events;
  std::shared_ptr<ChatStats> stats;
  // Where a chat's routing runs when it reads the store or a large body; null: inline.
  std::shared_ptr<WorkPool> work;
  ChatOptions options;
};

// The OpenAI-compatible endpoints (POST /v1/chat/completions, GET /v1/models) and the agent's
// event stream (GET /api/agent/events), all with a user token (Access::kUser; the router needs
// an Authenticator). Their errors have OpenAI's shape (OpenAiErrorResponse). Null members of
// `services` get defaults, except `work`.
void RegisterChatRoutes(Router& router, ChatServices services);

}  // namespace berth::http
