// The end-to-end path with the REAL OpenClaw gateway image: berth starts a user's agent
// on the real Docker engine, the agent fetches its openclaw.json from berth, /readyz turns 200,
// and a chat sent to the gateway with its token reaches a fake LLM upstream in this process (all
// traffic stays on this machine). Then a provider change is pushed into the running gateway,
// which hot-reloads it and uses the new model.
//
// Costs one gateway start (~30 s, up to 2 GiB) and, without BERTH_OPENCLAW_IMAGE, one build of
// the ~700 MB image with `berth image build openclaw`.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lifecycle_openclaw/openclaw_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kUpstreamKey[] = "sk-fake-upstream-key-0123456789";
constexpr char kRotatedUpstreamKey[] = "sk-fake-rotated-key-9876543210";
constexpr char kResponsesKey[] = "sk-fake-responses-key-2468013579";
constexpr char kAnthropicKey[] = "sk-fake-anthropic-key-1357924680";
// The price of the models of those two providers, USD per million tokens (OpenClaw's cost).
constexpr double kInputPrice = 3;
constexpr double kOutputPrice = 15;

// The rows of /api/usage for one provider, summed over its models and days.
struct ProviderUsage {
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t unpriced_requests = 0;
  double cost_usd = 0;
  std::set<std::string> models;
};

ProviderUsage UsageOf(const json& report, const std::string& provider) {
  ProviderUsage sum;
  const json rows = report.value("usage", json::array());
  for (const json& row : rows) {
    if (row.value("provider", "") != provider) continue;
    sum.requests += row.value("requests", int64_t{0});
    sum.input_tokens += row.value("inputTokens", int64_t{0});
    sum.output_tokens += row.value("outputTokens", int64_t{0});
    sum.unpriced_requests += row.value("unpricedRequests", int64_t{0});
    sum.cost_usd += row.value("costUsd", 0.0);
    sum.models.insert(row.value("model", ""));
  }
  return sum;
}

// The POST calls the fake upstream received at `target`.
std::vector<UpstreamCall> CallsTo(const FakeLlm& llm, const std::string& target) {
  std::vector<UpstreamCall> out;
  for (UpstreamCall& call : llm.Calls()) {
    if (call.method == "POST" && call.target == target) out.push_back(std::move(call));
  }
  return out;
}

TEST_F(OpenClawLifecycle, AgentFetchesConfigGetsReadyChatsThroughFakeUpstreamAndHotReloads) {
  StartBerth();
  // berth made the agent network at startup; the agents reach this host at its gateway address.
  auto network = client().InspectNetwork(network_);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  ASSERT_FALSE(network->gateway.empty());
  FakeLlm llm(network->gateway);

  auto [user_id, token] = CreateUser("claw");
  ASSERT_FALSE(token.empty());
  auto provider = berth_->Post("/api/providers",
                               json{{"name", "fakellm"},
                                    {"type", "custom"},
                                    {"baseUrl", llm.BaseUrl()},
                                    {"apiKey", kUpstreamKey},
                                    {"models", {"fake-model-1"}}}
                                   .dump(),
                               token);
  ASSERT_EQ(provider.status, 201) << provider.body;
  const std::string provider_id = provider.Json()["provider"]["id"];
  auto model = berth_->Send("PUT", "/api/agent-config",
                            json{{"primaryModel", "fakellm/fake-model-1"}}.dump(), token);
  ASSERT_EQ(model.status, 200) << model.body;

  // Start: berth creates and starts the container and answers once the gateway is ready.
  // (Not StartAgent(): its client gives up after 10 s; the first boot takes 20-30 s.)
  const auto start_begin = std::chrono::steady_clock::now();
  auto start = HttpExchange("127.0.0.1", berth_->port(), "POST", "/api/agent/start", "",
                            {{"Authorization", "Bearer " + token}}, 200s);
  const HttpResult& started = start.http;
  const auto start_took = std::chrono::steady_clock::now() - start_begin;
  std::printf("[openclaw] POST /api/agent/start -> %d in %lld ms %s\n", started.status,
              Millis(start_took), start.error.c_str());
  RecordProperty("start_to_ready_ms", std::to_string(Millis(start_took)));
  auto containers = ContainersOf(user_id);
  if (!containers.empty()) agent_container_ = containers[0].id;
  ASSERT_EQ(started.status, 200) << start.error << started.body << "\n" << berth_->Stderr();
  EXPECT_EQ(started.Json()["status"], "running") << started.body;
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].image, image_);

  auto details = client().InspectContainer(agent_container_);
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  ASSERT_TRUE(details->running);
  EXPECT_TRUE(details->init);
  EXPECT_EQ(details->memory, int64_t{2} << 30);
  const std::string ip = details->network_ips[network_];
  const std::string gateway_token = EnvOf(*details, "AGENT_TOKEN");
  const std::string agent_id = EnvOf(*details, "AGENT_ID");
  ASSERT_FALSE(ip.empty());
  ASSERT_FALSE(gateway_token.empty());
  ASSERT_FALSE(agent_id.empty());
  const auto first_started_at = details->started_at;

  // The agent fetched its config from berth's internal endpoint with its own token ...
  const std::string berth_log = berth_->Stderr() + berth_->Stdout();
  EXPECT_NE(berth_log.find("http GET /api/internal/agent-config/" + agent_id + " 200"),
            std::string::npos)
      << berth_log;
  // ... wrote it where the gateway reads it, naming berth's LLM gateway and the agent's own key
  // for the provider, never the provider's address or key ...
  std::string served;
  EXPECT_EQ(Exec(agent_container_, "cat /home/node/.openclaw/openclaw.json", &served), 0) << served;
  EXPECT_NE(served.find("/api/internal/llm/fakellm\""), std::string::npos) << served;
  EXPECT_NE(served.find("\"bk_"), std::string::npos) << served;
  EXPECT_EQ(served.find(llm.BaseUrl()), std::string::npos) << served;
  EXPECT_EQ(served.find(kUpstreamKey), std::string::npos) << served;
  EXPECT_NE(served.find("fakellm/fake-model-1"), std::string::npos) << served;
  // ... and the gateway is ready, as berth saw it.
  auto readyz = HttpExchange(ip, kGatewayPort, "GET", "/readyz", "", {}, 10s);
  EXPECT_EQ(readyz.http.status, 200) << readyz.error << readyz.http.body;
  EXPECT_EQ(HttpExchange(ip, kGatewayPort, "GET", "/healthz", "", {}, 10s).http.status, 200);

  // A streamed chat with the gateway token reaches the fake upstream with the provider's key and
  // model, and its answer streams back to the client.
  std::size_t calls_before = llm.Calls().size();
  auto streamed = Chat(ip, gateway_token, /*stream=*/true);
  ASSERT_EQ(streamed.http.status, 200) << streamed.error << "\n" << streamed.http.body;
  EXPECT_NE(streamed.http.headers["content-type"].find("text/event-stream"), std::string::npos);
  StreamedChat chat = ReadChatStream(streamed.http.body);
  EXPECT_TRUE(chat.problem.empty()) << chat.problem;
  EXPECT_EQ(chat.text, FakeLlm::Reply("fake-model-1")) << streamed.http.body;
  EXPECT_GE(chat.content_events, 2u) << "the answer came in one piece:\n" << streamed.http.body;
  EXPECT_TRUE(chat.done) << streamed.http.body;
  // The upstream's usage chunk made it through (compat.supportsUsageInStreaming in the config).
  ASSERT_TRUE(chat.usage.is_object()) << streamed.http.body;
  EXPECT_EQ(chat.usage.value("completion_tokens", -1), 7) << chat.usage.dump();

  auto calls = llm.Calls();
  ASSERT_GT(calls.size(), calls_before);
  for (std::size_t i = calls_before; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].method, "POST");
    EXPECT_EQ(calls[i].target, "/v1/chat/completions");
    EXPECT_EQ(calls[i].authorization, std::string("Bearer ") + kUpstreamKey);
    EXPECT_EQ(calls[i].model, "fake-model-1");
    EXPECT_TRUE(calls[i].stream) << "the gateway streams every upstream request";
  }

  // No real key anywhere in the agent: not in its state volume's files, its env or its labels
  // (berth's gateway added it on the way out, above).
  std::string found;
  Exec(agent_container_, std::string("grep -rl ") + kUpstreamKey + " /home/node || echo none",
       &found);
  EXPECT_EQ(found, "none\n");
  for (const std::string& variable : details->env) {
    EXPECT_EQ(variable.find(kUpstreamKey), std::string::npos) << variable;
  }
  for (const auto& [name, value] : details->labels) {
    EXPECT_EQ(value.find(kUpstreamKey), std::string::npos) << name;
  }

  // The same without streaming: one JSON completion.
  calls_before = calls.size();
  auto plain = Chat(ip, gateway_token, /*stream=*/false);
  ASSERT_EQ(plain.http.status, 200) << plain.error << "\n" << plain.http.body;
  json completion = plain.http.Json();
  ASSERT_TRUE(completion.is_object()) << plain.http.body;
  EXPECT_EQ(completion.value("object", ""), "chat.completion") << plain.http.body;
  EXPECT_EQ(completion.value(json::json_pointer("/choices/0/message/content"), ""),
            FakeLlm::Reply("fake-model-1"))
      << plain.http.body;
  calls = llm.Calls();
  ASSERT_GT(calls.size(), calls_before);
  EXPECT_EQ(calls.back().model, "fake-model-1");
  EXPECT_EQ(calls.back().authorization, std::string("Bearer ") + kUpstreamKey);

  // Config push: the provider gains a second model and a new key. The running gateway gets the
  // new openclaw.json, hot-reloads it (its own log says so) and uses it without a restart. The
  // new key never reaches the agent: berth's gateway sends it upstream.
  const std::size_t reloads_before = Count(GatewayLog(), kHotReloaded);
  const auto push_begin = std::chrono::steady_clock::now();
  auto patched = berth_->Send(
      "PATCH", "/api/providers/" + provider_id,
      json{{"models", {"fake-model-1", "fake-model-2"}}, {"apiKey", kRotatedUpstreamKey}}.dump(),
      token);
  ASSERT_EQ(patched.status, 200) << patched.body;
  std::string reload_line;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::string log = GatewayLog();
        if (Count(log, kHotReloaded) <= reloads_before) return false;
        const std::size_t at = log.rfind(kHotReloaded);
        reload_line = log.substr(at, log.find('\n', at) - at);
        return true;
      },
      60s))
      << GatewayLog();
  std::printf("[openclaw] PATCH to '%s' in %lld ms\n", reload_line.c_str(),
              Millis(std::chrono::steady_clock::now() - push_begin));
  std::string pushed;
  EXPECT_EQ(Exec(agent_container_, "cat /home/node/.openclaw/openclaw.json", &pushed), 0) << pushed;
  EXPECT_NE(pushed.find("fake-model-2"), std::string::npos) << pushed;
  EXPECT_EQ(pushed.find(kRotatedUpstreamKey), std::string::npos) << pushed;

  calls_before = llm.Calls().size();
  auto second = Chat(ip, gateway_token, /*stream=*/true, "fakellm/fake-model-2");
  ASSERT_EQ(second.http.status, 200) << second.error << "\n" << second.http.body;
  StreamedChat second_chat = ReadChatStream(second.http.body);
  EXPECT_TRUE(second_chat.problem.empty()) << second_chat.problem;
  EXPECT_EQ(second_chat.text, FakeLlm::Reply("fake-model-2")) << second.http.body;
  calls = llm.Calls();
  ASSERT_GT(calls.size(), calls_before);
  for (std::size_t i = calls_before; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].model, "fake-model-2");
    EXPECT_EQ(calls[i].authorization, std::string("Bearer ") + kRotatedUpstreamKey);
  }

  // Still the same container, never restarted.
  auto after = client().InspectContainer(agent_container_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->running);
  EXPECT_EQ(after->started_at, first_started_at);
  EXPECT_EQ(ContainersOf(user_id).size(), 1u);
}

// The chat path: a user with a provider at the fake upstream chats through berth while
// their agent is stopped. berth starts the real gateway (keeping the streamed request alive with
// SSE comments meanwhile) and streams its answer back; then a non-streamed chat for another of
// the provider's models goes through berth's x-openclaw-model mapping; then streamed chats for
// the user's two other providers at the same fake, an OpenAI Responses one and an Anthropic
// Messages one, each with its own key and priced models: berth's LLM gateway forwards each API
// with the real key in its own style and counts and prices what each call used.
TEST_F(OpenClawLifecycle, ChatsThroughBerthFromAStoppedAgentStreamedAndNot) {
  env_["BERTH_CHAT_KEEPALIVE_MS"] = "2000";
  StartBerth();
  auto network = client().InspectNetwork(network_);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  FakeLlm llm(network->gateway);
  auto [user_id, token] = CreateUser("chatter");
  AddFakeProvider(token, llm.BaseUrl(), kUpstreamKey, {"fake-model-1", "fake-model-2"});
  // Added after fakellm, so that fakellm/fake-model-1 stays the primary model. The Anthropic
  // SDK adds /v1/messages to its base URL; the OpenAI one adds /responses.
  auto add_provider = [&](const std::string& name, const std::string& api_type,
                          const std::string& base_url, const std::string& key,
                          const std::string& model) {
    const json cost = {{"input", kInputPrice}, {"output", kOutputPrice}};
    auto added = berth_->Post("/api/providers",
                              json{{"name", name},
                                   {"type", "custom"},
                                   {"apiType", api_type},
                                   {"baseUrl", base_url},
                                   {"apiKey", key},
                                   {"models", json::array({json{{"id", model}, {"cost", cost}}})}}
                                  .dump(),
                              token);
    EXPECT_EQ(added.status, 201) << added.body;
  };
  add_provider("fakeresp", "openai-responses", llm.BaseUrl(), kResponsesKey, "fake-resp-1");
  add_provider("fakeanth", "anthropic-messages", llm.RootUrl(), kAnthropicKey, "fake-anth-1");
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(berth_->Get("/api/agent", token).Json()["status"], "stopped");

  auto chat_through_berth = [&](const json& body) {
    const auto begin = std::chrono::steady_clock::now();
    ExchangeResult answer =
        HttpExchange("127.0.0.1", berth_->port(), "POST", "/v1/chat/completions", body.dump(),
                     {{"Authorization", "Bearer " + token}}, 300s);
    std::printf("[openclaw] chat through berth stream=%d: %d in %lld ms, %zu body reads\n",
                body.value("stream", false), answer.http.status,
                Millis(std::chrono::steady_clock::now() - begin), answer.body_reads);
    return answer;
  };
  json streamed_body = {{"model", "openclaw"},
                        {"stream", true},
                        {"stream_options", {{"include_usage", true}}},
                        {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  ExchangeResult streamed = chat_through_berth(streamed_body);
  ASSERT_EQ(streamed.http.status, 200) << streamed.error << streamed.http.body;
  auto containers = ContainersOf(user_id);
  if (!containers.empty()) agent_container_ = containers.front().id;
  EXPECT_NE(streamed.http.headers["content-type"].find("text/event-stream"), std::string::npos);
  // The gateway took seconds to start: the client heard from berth meanwhile.
  EXPECT_NE(streamed.http.body.find(": berth: starting your agent"), std::string::npos);
  StreamedChat chat = ReadChatStream(streamed.http.body);
  EXPECT_TRUE(chat.problem.empty()) << chat.problem;
  EXPECT_EQ(chat.text, FakeLlm::Reply("fake-model-1"));
  EXPECT_GT(chat.content_events, 1u);  // in pieces, as the upstream sent them
  EXPECT_GT(streamed.body_reads, 2u);
  ASSERT_TRUE(chat.usage.is_object()) << streamed.http.body;
  EXPECT_GT(chat.usage.value("total_tokens", 0), 0);
  EXPECT_TRUE(chat.done);

  json plain_body = {{"model", "fakellm/fake-model-2"},
                     {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  ExchangeResult plain = chat_through_berth(plain_body);
  ASSERT_EQ(plain.http.status, 200) << plain.error << plain.http.body;
  json completion = json::parse(plain.http.body, nullptr, false);
  ASSERT_TRUE(completion.is_object()) << plain.http.body;
  EXPECT_EQ(completion["choices"][0]["message"]["content"], FakeLlm::Reply("fake-model-2"));
  EXPECT_GT(completion["usage"].value("total_tokens", 0), 0) << plain.http.body;
  auto calls = llm.Calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.back().model, "fake-model-2");

  // The other two providers' models, streamed: the gateway reads their typed event streams and
  // streams the text on in pieces as chat completion chunks.
  for (const auto& [provider, model] :
       {std::pair<std::string, std::string>{"fakeresp", "fake-resp-1"},
        std::pair<std::string, std::string>{"fakeanth", "fake-anth-1"}}) {
    json body = {{"model", provider + "/" + model},
                 {"stream", true},
                 {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
    ExchangeResult answer = chat_through_berth(body);
    ASSERT_EQ(answer.http.status, 200) << model << ": " << answer.error << answer.http.body;
    EXPECT_NE(answer.http.headers["content-type"].find("text/event-stream"), std::string::npos)
        << model;
    StreamedChat streamed_chat = ReadChatStream(answer.http.body);
    EXPECT_TRUE(streamed_chat.problem.empty()) << model << ": " << streamed_chat.problem;
    EXPECT_EQ(streamed_chat.text, FakeLlm::Reply(model)) << answer.http.body;
    EXPECT_GT(streamed_chat.content_events, 1u) << model << ":\n" << answer.http.body;
    EXPECT_GT(answer.body_reads, 2u) << model;
    EXPECT_TRUE(streamed_chat.done) << model << ":\n" << answer.http.body;
  }

  // Each API reached the fake in its own path and with the real key in its own style: Bearer for
  // OpenAI Responses; x-api-key, and no Authorization, for Anthropic Messages.
  const std::vector<UpstreamCall> completions = CallsTo(llm, "/v1/chat/completions");
  const std::vector<UpstreamCall> responses = CallsTo(llm, "/v1/responses");
  const std::vector<UpstreamCall> messages = CallsTo(llm, "/v1/messages");
  ASSERT_FALSE(responses.empty());
  ASSERT_FALSE(messages.empty());
  for (const UpstreamCall& call : responses) {
    EXPECT_EQ(call.authorization, std::string("Bearer ") + kResponsesKey);
    EXPECT_EQ(call.model, "fake-resp-1");
    EXPECT_TRUE(call.stream);
  }
  for (const UpstreamCall& call : messages) {
    EXPECT_EQ(call.api_key, kAnthropicKey);
    EXPECT_EQ(call.authorization, "");
    EXPECT_EQ(call.model, "fake-anth-1");
    EXPECT_TRUE(call.stream);
  }

  // berth's LLM gateway counted every call the real gateway made through it, with the fake's
  // 42 input and 7 output tokens each, read from each API's own usage fields. fakellm's models
  // have no price, so each of its calls is counted unpriced; the other two providers' calls are
  // priced at their models' cost. (The count is settled as the upstream's stream ends, which may
  // be a moment after the client's.)
  const std::size_t all_calls = completions.size() + responses.size() + messages.size();
  HttpResult usage;
  const bool settled = Eventually([&] {
    usage = berth_->Get("/api/usage", token);
    const json body = usage.Json();
    return usage.status == 200 && body.is_object() &&
           body.value(json::json_pointer("/totals/requests"), std::size_t{0}) >= all_calls;
  });
  ASSERT_EQ(usage.status, 200) << usage.body;
  EXPECT_TRUE(settled) << usage.body;
  const json report = usage.Json();
  const json totals = report["totals"];
  const double per_call_usd = (42 * kInputPrice + 7 * kOutputPrice) / 1e6;  // 0.000231
  const auto priced_calls = static_cast<double>(responses.size() + messages.size());
  EXPECT_EQ(totals["requests"], all_calls) << usage.body;
  EXPECT_EQ(totals["inputTokens"], 42 * all_calls) << usage.body;
  EXPECT_EQ(totals["outputTokens"], 7 * all_calls) << usage.body;
  EXPECT_EQ(totals["unpricedRequests"], completions.size()) << usage.body;
  EXPECT_NEAR(totals.value("costUsd", -1.0), priced_calls * per_call_usd, 1e-9) << usage.body;

  const ProviderUsage fakellm = UsageOf(report, "fakellm");
  EXPECT_EQ(fakellm.requests, static_cast<int64_t>(completions.size())) << usage.body;
  EXPECT_EQ(fakellm.input_tokens, 42 * fakellm.requests) << usage.body;
  EXPECT_EQ(fakellm.output_tokens, 7 * fakellm.requests) << usage.body;
  EXPECT_EQ(fakellm.unpriced_requests, fakellm.requests) << usage.body;
  EXPECT_EQ(fakellm.cost_usd, 0.0) << usage.body;
  EXPECT_EQ(fakellm.models, (std::set<std::string>{"fake-model-1", "fake-model-2"})) << usage.body;
  for (const auto& [provider, model, recorded] :
       {std::tuple<std::string, std::string, std::size_t>{"fakeresp", "fake-resp-1",
                                                          responses.size()},
        std::tuple<std::string, std::string, std::size_t>{"fakeanth", "fake-anth-1",
                                                          messages.size()}}) {
    const ProviderUsage used = UsageOf(report, provider);
    EXPECT_EQ(used.requests, static_cast<int64_t>(recorded)) << provider << ": " << usage.body;
    EXPECT_EQ(used.input_tokens, 42 * used.requests) << provider << ": " << usage.body;
    EXPECT_EQ(used.output_tokens, 7 * used.requests) << provider << ": " << usage.body;
    EXPECT_EQ(used.unpriced_requests, 0) << provider << ": " << usage.body;
    EXPECT_NEAR(used.cost_usd, static_cast<double>(used.requests) * per_call_usd, 1e-9)
        << provider << ": " << usage.body;
    EXPECT_EQ(used.models, std::set<std::string>{model}) << provider << ": " << usage.body;
  }
}

}  // namespace
}  // namespace berth::testing
