#pragma once

// What the real OpenClaw gateway accepts in openclaw.json, as far as berth's assembly needs it.
//
// Verified against openclaw 2026.9.6 (Node 26.10.0) with `openclaw config validate --json` (run
// with OPENCLAW_CONFIG_PATH, HOME and OPENCLAW_STATE_DIR in a temp dir; it makes no network
// connection) and by reading the shipped zod schema (dist/zod-schema.core-*.mjs) and config loader.
// The test tests/agentconfig/openclaw_validate_test.cpp re-checks the configs berth builds, the api
// list and the bundled provider ids against the installed CLI, so a new OpenClaw release that
// changes them fails there first. Findings:
//
// Root and gateway
// - Every object is strict: an unknown key anywhere makes the file invalid ("Unrecognized key").
// - gateway.mode: "local" | "remote" both pass the schema, but `openclaw gateway run` refuses to
//   start unless it is "local". gateway.port: integer 1..65535. gateway.bind: auto | lan |
//   loopback | custom | tailnet. gateway.auth.mode: none | token | password | trusted-proxy; with
//   "token" and no gateway.auth.token the file is still valid and the token comes from env
//   OPENCLAW_GATEWAY_TOKEN. gateway.http.endpoints.chatCompletions.enabled: boolean, off by
//   default.
// - Accepted at the paths ARCHITECTURE.md recommends (all valid, none warns):
//   gateway.controlUi.enabled:false, cron.enabled:false, agents.defaults.heartbeat.every:"0m"
//   (durations use ms|s|m|h; an interval of 0 disables the heartbeat; "abc" is rejected),
//   update.checkOnStart:false, models.catalogRefresh.enabled:false, and per model
//   compat.supportsUsageInStreaming:true.
// - plugins.entries.admin-http-rpc.enabled:true turns on the bundled plugin that serves the
//   gateway's control methods (config.get, config.apply, ...) as POST /api/v1/admin/rpc on its
//   own listener, behind gateway auth; off, the route is not registered (404).
// - agents.defaults.model.primary is any string: the validator does not check that it names a
//   configured provider or model (even "" and "nope/x" pass). At runtime a ref is split at its
//   first '/' and both halves are trimmed, so model ids may contain '/' but not edge whitespace.
//
// models.providers.<id>
// - <id>: any string passes the schema (uppercase, '/', unicode, even ""), but "__proto__" is
//   silently dropped by the loader (the provider vanishes), and ids are compared lowercased.
// - baseUrl: optional string, no URL check. Required (non-empty) for every id that is not a
//   bundled provider overlay (kBuiltInProviderIds, compared lowercased): "custom model providers
//   must declare baseUrl". The same rule requires `models` to be an array for those ids.
// - apiKey: string or SecretRef object; any string passes. Semantics that matter: "${NAME}" is
//   replaced from the gateway's environment (a warning when unset), a whole value "$NAME" is read
//   as an env SecretRef, and "secretref-env:" / "__env__:" prefixes are legacy markers rejected at
//   runtime. See EscapeEnvReferences.
// - api: optional; one of kModelApis, all 11 accepted for custom and bundled ids alike. Absent
//   falls back to "openai-completions" for custom providers (a bundled id may bring its own).
//   "openai-codex-responses" is a removed id and is rejected.
// - models: an array of objects; each needs id (string, min 1) and name (string, min 1); no
//   length or character limits; duplicate ids pass. The seed's map form {"glm-5":{}} is rejected
//   ("expected array, received object") and crashes the gateway at start.
//
// Strings everywhere in the file (not keys) go through env substitution: "${NAME}" with NAME
// matching [A-Z_][A-Z0-9_]* is replaced, "$${NAME}" yields a literal "${NAME}".

#include <array>
#include <string>
#include <string_view>

namespace berth::agentconfig {

// The OpenClaw release the findings above were validated against; scripts/install-openclaw.sh pins
// the same version.
inline constexpr std::string_view kOpenClawVersion = "2026.9.6";

// `api` used when a provider does not set one.
inline constexpr std::string_view kDefaultModelApi = "openai-completions";

// Every value of models.providers.<id>.api that OpenClaw accepts (MODEL_APIS, in its order).
inline constexpr std::array<std::string_view, 11> kModelApis = {
    "openai-completions", "openai-responses",        "openai-chatgpt-responses",
    "anthropic-messages", "google-generative-ai",    "google-vertex",
    "github-copilot",     "bedrock-converse-stream", "ollama",
    "pi-messages",        "azure-openai-responses",
};

// Provider ids OpenClaw bundles (BUILT_IN_MODEL_PROVIDER_OVERLAY_IDS); only these may omit baseUrl
// (and models). Sorted bytewise for binary search.
inline constexpr std::array<std::string_view, 79> kBuiltInProviderIds = {
    "amazon-bedrock",
    "amazon-bedrock-mantle",
    "anthropic",
    "anthropic-vertex",
    "arcee",
    "azure-openai-responses",
    "byteplus",
    "byteplus-plan",
    "cerebras",
    "chutes",
    "claude-cli",
    "clawrouter",
    "cloudflare-ai-gateway",
    "codex",
    "comfy",
    "copilot-proxy",
    "dashscope",
    "deepinfra",
    "deepseek",
    "fal",
    "fireworks",
    "github-copilot",
    "gmi",
    "gmi-cloud",
    "gmicloud",
    "google",
    "google-antigravity",
    "google-gemini-cli",
    "google-vertex",
    "groq",
    "huggingface",
    "kilocode",
    "kimi",
    "kimi-coding",
    "litellm",
    "lmstudio",
    "meta",
    "microsoft-foundry",
    "minimax",
    "minimax-portal",
    "mistral",
    "modelstudio",
    "moonshot",
    "moonshot-ai",
    "moonshotai",
    "novita",
    "novita-ai",
    "novitaai",
    "nvidia",
    "ollama",
    "ollama-cloud",
    "openai",
    "opencode",
    "opencode-go",
    "openrouter",
    "qianfan",
    "qwen",
    "qwen-token-plan",
    "qwencloud",
    "sglang",
    "stepfun",
    "stepfun-plan",
    "synthetic",
    "tencent-tokenhub",
    "tencent-tokenplan",
    "together",
    "venice",
    "vercel-ai-gateway",
    "vllm",
    "volcengine",
    "volcengine-plan",
    "vydra",
    "x-ai",
    "xai",
    "xiaomi",
    "xiaomi-token-plan",
    "z-ai",
    "z.ai",
    "zai",
};

bool IsModelApi(std::string_view api);

// True when `provider_id` (compared lowercased, as OpenClaw does) is a bundled provider, which may
// omit baseUrl.
bool IsBuiltInProviderId(std::string_view provider_id);

// Returns `literal` encoded so that OpenClaw's env substitution yields `literal` again: each
// "${NAME}" (NAME matching [A-Z_][A-Z0-9_]*) becomes "$${NAME}". Everything else is unchanged.
// Without this a user could plant "${OPENCLAW_GATEWAY_TOKEN}" in a base URL and have the gateway
// send its own token upstream.
std::string EscapeEnvReferences(std::string_view literal);

}  // namespace berth::agentconfig
