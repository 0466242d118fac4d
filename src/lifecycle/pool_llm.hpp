#pragma once

namespace berth::lifecycle {

// Where warm-pool agents' placeholder provider points, under the API URL agents use: berth's
// stand-in LLM (http/warmup_llm.hpp serves it; AgentManager hands the URL to ContainerService).
inline constexpr char kPoolLlmPath[] = "/internal/warmup/v1";
// Where every user provider of an agent's config points, under the same API URL: berth's LLM
// gateway (http/llm_gateway_api.hpp), one path per provider below it.
inline constexpr char kLlmGatewayPath[] = "/internal/llm";

}  // namespace berth::lifecycle
