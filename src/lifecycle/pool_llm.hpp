#pragma once

namespace berth::lifecycle {

// Where warm-pool agents' placeholder provider points, under the API URL agents use: berth's
// stand-in LLM (http/warmup_llm.hpp serves it; AgentManager hands the URL to ContainerService).
inline constexpr char kPoolLlmPath[] = "/internal/warmup/v1";

}  // namespace berth::lifecycle
