#pragma once

#include "http/router.hpp"
#include "lifecycle/pool_llm.hpp"

namespace berth::http {

// The stand-in LLM a warm-pool agent's placeholder provider names (agentconfig::BuildPoolConfig):
// `POST /api/internal/warmup/v1/chat/completions` answers "ok" at once, streamed (SSE) or not
// (a body that is not a JSON object within berth's bounds is a 400, as on every route),
// so that berth's warm-up turn (lifecycle/warm_pool.hpp) runs the gateway's whole first-turn path
// before a user arrives. It holds nothing and costs nothing: a constant answer, no credential.
void RegisterWarmupLlm(Router& router);

}  // namespace berth::http
