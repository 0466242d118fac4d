#include "http/llm_gateway_api.hpp"

#include <spdlog/spdlog.h>

#include <any>
#include <array>
#include <chrono>
#include <optional>

#include "agentconfig/llm_routing.hpp"
#include "lifecycle/pool_llm.hpp"
#include "llm/prices.hpp"
#include "llm/usage_meter.hpp"

namespace berth::http {
namespace {

constexpr std::string_view kAnthropicVersion = "2023-06-01";

// The agent's key, from whichever header its client uses (OpenAI, Anthropic, Google styles).
std::optional<std::string> PresentedKey(const BeastRequest& head, const Request& r) {
  if (auto bearer = BearerTokenOf(head)) return bearer;
  for (const char* name : {"x-api-key", "x-goog-api-key"}) {
    if (auto value = head.find(name); value != head.end() && !value->value().empty()) {
      return std::string(value->value());
    }
  }
  if (auto key = r.query.find("key"); key != r.query.end()) return key->second;
  return std::nullopt;
}

// The request's query string without `key` (a Google-style credential): it never goes upstream.
std::string QueryWithoutKey(std::string_view target) {
  const std::size_t mark = target.find('?');
  if (mark == std::string_view::npos) return {};
  std::string out;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!pair.empty() && pair.substr(0, 4) != "key=" && pair != "key") {
      out += out.empty() ? "?" : "&";
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

// What of the agent's headers goes upstream: content negotiation and the API's own version and
// feature headers. No credential, no cookie, nothing else.
constexpr std::array<std::string_view, 5> kForwardedHeaders = {
    "content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"};

bool PassedBack(beast::string_view name) {
  const auto starts = [&](beast::string_view prefix) {
    return name.size() >= prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix);
  };
  return beast::iequals(name, "content-type") || beast::iequals(name, "retry-after") ||
         starts("x-ratelimit-") || starts("anthropic-ratelimit-");
}

// The provider's answer onto the agent's connection, through a meter that reads its usage (and
// removes the usage chunk berth asked for on the agent's behalf).
class MeteredSink final : public llm::AnswerSink {
 public:
  MeteredSink(ResponseWriter& writer, llm::WireApi api, bool strip_usage_chunk)
      : writer_(writer), api_(api), strip_(strip_usage_chunk) {}

  net::awaitable<bool> Head(unsigned status, const bhttp::fields& headers,
                            bool body_follows) override {
    ResponseHead head;
    head.result(status);
    for (const auto& field : headers) {
      if (PassedBack(field.name_string())) head.insert(field.name_string(), field.value());
    }
    const auto type = headers.find(bhttp::field::content_type);
    const bool stream = type != headers.end() &&
                        type->value().find("text/event-stream") != beast::string_view::npos;
    status_ = status;
    answered_ok_ = status >= 200 && status < 300;
    meter_.emplace(api_, answered_ok_, stream, strip_);
    if (!co_await writer_.Begin(head)) co_return false;
    if (body_follows) co_return true;    // goes out with the first piece
    co_return co_await writer_.Flush();  // the agent sees the answer begin before a long think
  }
  net::awaitable<bool> Body(std::string_view piece, bool last) override {
    out_.clear();
    meter_->Feed(piece, out_);
    if (last) {
      tail_ += out_;  // goes out with the end of the answer (Tail)
      co_return true;
    }
    if (out_.empty()) co_return true;
    co_return co_await writer_.Write(out_);
  }
  void OnGone(std::function<void()> cancel) override { writer_.WatchClient(std::move(cancel)); }

  // The answer is whole: what is still to go out (the last piece and what the meter held back),
  // for the agent's answer's last write.
  std::string_view Tail() {
    if (meter_) meter_->Finish(tail_);
    return tail_;
  }

  bool answered_ok() const { return answered_ok_; }
  unsigned status() const { return status_; }  // the provider's; 0 before its head
  const llm::UsageMeter* meter() const { return meter_ ? &*meter_ : nullptr; }

 private:
  ResponseWriter& writer_;
  const llm::WireApi api_;
  const bool strip_;
  bool answered_ok_ = false;
  unsigned status_ = 0;
  std::optional<llm::UsageMeter> meter_;
  std::string out_;
  std::string tail_;
};

llm::WireApi WireApiOf(std::string_view path) {
  if (path == "/chat/completions") return llm::WireApi::kOpenAiCompletions;
  if (path == "/responses") return llm::WireApi::kOpenAiResponses;
  if (path == "/v1/messages") return llm::WireApi::kAnthropicMessages;
  return llm::WireApi::kOther;
}

std::string_view ApiLabel(llm::WireApi api) {
  switch (api) {
    case llm::WireApi::kOpenAiCompletions:
      return "openai-completions";
    case llm::WireApi::kOpenAiResponses:
      return "openai-responses";
    case llm::WireApi::kAnthropicMessages:
      return "anthropic-messages";
    case llm::WireApi::kOther:
      break;
  }
  return "other";
}

// The gateway's metric families, registered once.
struct LlmMetrics {
  CounterFamily* tokens = nullptr;
  CounterFamily* cost = nullptr;
  CounterFamily* requests = nullptr;
};

std::shared_ptr<const LlmMetrics> RegisterMetrics(MetricsRegistry* registry) {
  auto out = std::make_shared<LlmMetrics>();
  if (registry == nullptr) return out;
  out->tokens = &registry->Counter("berth_llm_tokens_total",
                                   "Tokens agents used through berth's LLM gateway, by API.",
                                   {"api", "kind"});
  out->cost = &registry->Counter(
      "berth_llm_cost_usd_total",
      "What agents' LLM calls through berth cost, in USD at known prices, by API.", {"api"});
  out->requests = &registry->Counter(
      "berth_llm_requests_total",
      "LLM calls answered 2xx through berth's gateway, by API and whether their usage was "
      "reported and priced.",
      {"api", "usage"});
  return out;
}

// One answered call into the ledger and the metrics: the usage the meter read, priced by the
// model the agent asked for (the provider's own, often dated, name as a fallback).
store::UsageRow Charge(const LlmGatewayServices& s, const LlmMetrics& metrics,
                       const service::ProviderService::LlmRoute& route,
                       const llm::PreparedRequest& request,
                       const std::optional<agentconfig::ModelCost>& requested_price,
                       llm::WireApi api, const llm::UsageMeter& meter) {
  const llm::TokenUsage& used = meter.usage();
  const std::string& model = !request.model.empty() ? request.model : meter.model();
  auto price = !request.model.empty() ? requested_price : llm::PriceFor(route.models, model);
  if (!price && !meter.model().empty()) price = llm::BuiltInPrice(meter.model());
  store::UsageRow row;
  row.user_id = route.user_id;
  row.provider = route.provider;
  row.model = model.empty() ? "unknown" : model;
  row.requests = 1;
  row.input_tokens = used.input;
  row.output_tokens = used.output;
  row.cache_read_tokens = used.cache_read;
  row.cache_write_tokens = used.cache_write;
  row.reasoning_tokens = used.reasoning;
  row.cost_nano_usd = price ? llm::CostNanoUsd(used, *price) : 0;
  row.unpriced_requests = price ? 0 : 1;
  if (metrics.tokens != nullptr) {
    const std::string label(ApiLabel(api));
    metrics.tokens->With({label, "input"}).Inc(static_cast<double>(used.input));
    metrics.tokens->With({label, "output"}).Inc(static_cast<double>(used.output));
    metrics.tokens->With({label, "cache_read"}).Inc(static_cast<double>(used.cache_read));
    metrics.tokens->With({label, "cache_write"}).Inc(static_cast<double>(used.cache_write));
    metrics.cost->With({label}).Inc(static_cast<double>(row.cost_nano_usd) / 1e9);
    metrics.requests->With({label, !used.reported ? "unreported"
                                   : price        ? "priced"
                                                  : "unpriced"})
        .Inc();
  }
  if (s.usage) s.usage->Record(row);
  return row;
}

// One call into the log of recent calls. `charged`: what the call was charged (null: nothing).
void LogCall(const LlmGatewayServices& s, const service::ProviderService::LlmRoute& route,
             const std::string& model, llm::WireApi api, unsigned status, const char* outcome,
             const store::UsageRow* charged, std::chrono::steady_clock::time_point began) {
  if (!s.usage) return;
  store::LlmRequestLogEntry entry;
  entry.user_id = route.user_id;
  entry.provider = route.provider;
  entry.model = charged != nullptr ? charged->model : model;
  entry.api = ApiLabel(api);
  entry.status = static_cast<int>(status);
  entry.outcome = outcome;
  if (charged != nullptr) {
    entry.input_tokens = charged->input_tokens;
    entry.output_tokens = charged->output_tokens;
    entry.cache_read_tokens = charged->cache_read_tokens;
    entry.cache_write_tokens = charged->cache_write_tokens;
    entry.reasoning_tokens = charged->reasoning_tokens;
    entry.cost_nano_usd = charged->cost_nano_usd;
    entry.priced = charged->unpriced_requests == 0;
  }
  entry.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - began)
                          .count();
  s.usage->Log(std::move(entry));
}

// The call's worst case against the user's limits (none: an inactive ticket, no store write).
Result<service::LlmBudget::Ticket> Reserve(
    const LlmGatewayServices& s, const service::ProviderService::LlmRoute& route,
    const llm::PreparedRequest& request,
    const std::optional<agentconfig::ModelCost>& requested_price, std::size_t body_bytes,
    int* retry_after_s) {
  if (!s.budget) return service::LlmBudget::Ticket{};
  const int64_t input = static_cast<int64_t>(body_bytes / 3) + 1;
  const int64_t output = request.max_tokens.value_or(kDefaultOutputCap);
  std::optional<int64_t> nano;
  if (std::optional<agentconfig::ModelCost> price = requested_price) {
    price->input = std::max(price->input, price->cache_write);
    nano = llm::CostNanoUsd(llm::TokenUsage{input, output, 0, 0, 0, true}, *price);
  }
  return s.budget->Admit(route.user_id, nano, input + output, retry_after_s);
}

Response BudgetRefusal(const Status& refused, int retry_after_s) {
  if (refused.code() != ErrorCode::kResourceExhausted) return OpenAiErrorResponse(refused);
  Response res =
      OpenAiErrorResponse(bhttp::status::too_many_requests, "budget_exceeded", refused.message());
  if (retry_after_s > 0) res.set(bhttp::field::retry_after, std::to_string(retry_after_s));
  return res;
}

Response GatewayError(const Status& error) {
  switch (error.code()) {
    case ErrorCode::kUnavailable:
      return OpenAiErrorResponse(bhttp::status::bad_gateway, "bad_gateway", error.message());
    default:
      return OpenAiErrorResponse(error);
  }
}

llm::UpstreamCall CallFor(const Request& r, const service::ProviderService::LlmRoute& route,
                          std::string_view path, std::chrono::milliseconds idle_timeout) {
  llm::UpstreamCall call;
  call.idle_timeout = idle_timeout;
  call.method = r.method();
  call.url = agentconfig::UpstreamUrl(route.upstream_base, path) +
             QueryWithoutKey(std::string_view(r.raw.target().data(), r.raw.target().size()));
  for (std::string_view name : kForwardedHeaders) {
    if (std::string_view value = r.Header(name); !value.empty()) {
      call.headers.emplace_back(name, value);
    }
  }
  const bool anthropic = route.api_type == "anthropic-messages" || path.substr(0, 4) == "/v1/";
  if (anthropic) {
    if (r.Header("anthropic-version").empty()) {
      call.headers.emplace_back("anthropic-version", kAnthropicVersion);
    }
    if (route.api_key) call.headers.emplace_back("x-api-key", *route.api_key);
  } else if (route.api_key) {
    call.headers.emplace_back("authorization", "Bearer " + *route.api_key);
  }
  return call;
}

// Who calls, decided on the request's head before its body is read (STYLE.md, rule 16): the
// agent's key, authenticated; its config source is left in Request::admitted for the handler.
std::function<Status(Request&, const BeastRequest&)> Admit(LlmGatewayServices s) {
  return [s](Request& r, const BeastRequest& head) -> Status {
    if (!s.client || !s.containers || !s.providers) {
      return Unavailable("berth's LLM gateway is not set up");
    }
    const auto now = std::chrono::steady_clock::now();
    const std::string peer = r.peer.substr(0, r.peer.rfind(':'));
    if (s.limiter->BlockedFor(peer, now) > 0) {
      return ResourceExhausted("too many failed key attempts from this address");
    }
    if (head.find(bhttp::field::upgrade) != head.end()) {
      return InvalidArgument("berth's LLM gateway speaks HTTP only");
    }
    auto key = PresentedKey(head, r);
    if (!key) return Unauthenticated("Missing API key");
    auto source = s.containers->AuthenticateLlmKey(*key);
    if (!source.ok()) {
      if (source.status().code() == ErrorCode::kUnauthenticated)
        s.limiter->RecordFailure(peer, now);
      return source.status();
    }
    r.admitted = std::move(*source);
    return Status::Ok();
  };
}

StreamHandler Forwarder(LlmGatewayServices s, std::shared_ptr<const LlmMetrics> metrics,
                        std::string path) {
  return [s, metrics, path](Request& r, ResponseWriter& writer) -> net::awaitable<void> {
    const auto* source = std::any_cast<store::AgentConfigSource>(&r.admitted);
    auto route = source != nullptr ? s.providers->RouteFor(*source, r.Param("provider"))
                                   : Result<service::ProviderService::LlmRoute>(
                                         Internal("the LLM gateway's call was not admitted"));
    if (!route.ok()) {
      Response res = OpenAiErrorResponse(route.status());
      co_await writer.Send(res);
      co_return;
    }
    const auto began = std::chrono::steady_clock::now();
    const llm::WireApi api = WireApiOf(path);
    llm::PreparedRequest prepared = llm::PrepareRequest(api, std::move(r.raw.body()));
    llm::UpstreamCall call = CallFor(r, *route, path, s.idle_timeout);
    call.body = std::move(prepared.body);
    // The price of the model asked for, once: the reservation and the charge both need it.
    const std::optional<agentconfig::ModelCost> requested_price =
        api != llm::WireApi::kOther ? llm::PriceFor(route->models, prepared.model) : std::nullopt;
    int retry_after_s = 0;
    auto ticket =
        api != llm::WireApi::kOther
            ? Reserve(s, *route, prepared, requested_price, call.body.size(), &retry_after_s)
            : Result<service::LlmBudget::Ticket>(service::LlmBudget::Ticket{});
    if (!ticket.ok()) {
      Response res = BudgetRefusal(ticket.status(), retry_after_s);
      LogCall(s, *route, prepared.model, api, res.result_int(), "refused", nullptr, began);
      co_await writer.Send(res);
      co_return;
    }
    MeteredSink sink(writer, api, prepared.strip_usage_chunk);
    net::awaitable<Status> forwarded = s.client->Call(call, sink);
    Status status = co_await std::move(forwarded);
    const std::string_view tail = status.ok() ? sink.Tail() : std::string_view();
    // A 2xx answer is charged what was read of it, whole or cut (a cut stream's input and the
    // output counted so far, when the provider reported them before the cut).
    store::BudgetCharge spent;  // nothing for a call the provider refused or never answered
    std::optional<store::UsageRow> charged;
    if (sink.answered_ok() && api != llm::WireApi::kOther) {
      charged = Charge(s, *metrics, *route, prepared, requested_price, api, *sink.meter());
      spent = {charged->cost_nano_usd, sink.meter()->usage().total(), 0};
      if (!sink.meter()->usage().reported) {
        spent = ticket->reserved;        // never reported: all of it
        charged->unpriced_requests = 1;  // and no cost known for the log
      }
    }
    if (s.budget) s.budget->Settle(*ticket, spent.nano_usd, spent.tokens);
    const char* outcome = !status.ok() && writer.started()    ? "cut"
                          : status.ok() && sink.answered_ok() ? "ok"
                                                              : "error";
    if (!writer.started()) {
      spdlog::info("llm gateway: {} {} for user {}: {}", route->provider, path, route->user_id,
                   status.message());
      Response res = GatewayError(status);
      LogCall(s, *route, prepared.model, api, res.result_int(), outcome,
              charged ? &*charged : nullptr, began);
      co_await writer.Send(res);
      co_return;
    }
    LogCall(s, *route, prepared.model, api, sink.status(), outcome, charged ? &*charged : nullptr,
            began);
    if (status.ok()) {
      co_await writer.End(tail);
    } else if (status.code() != ErrorCode::kAborted) {
      // Returning without End closes the connection: the agent sees a cut, never a whole answer.
      spdlog::info("llm gateway: {} {} for user {}: {}", route->provider, path, route->user_id,
                   status.message());
    }
  };
}

}  // namespace

void RegisterLlmGateway(Router& router, const LlmGatewayServices& services) {
  const std::string base = std::string("/api") + lifecycle::kLlmGatewayPath + "/:provider";
  RouteOptions options;
  options.errors = ErrorStyle::kOpenAi;
  options.admit = Admit(services);
  const auto metrics = RegisterMetrics(services.metrics);
  struct Served {
    bhttp::verb method;
    const char* path;
  };
  for (const Served& served :
       {Served{bhttp::verb::post, "/chat/completions"}, Served{bhttp::verb::post, "/responses"},
        Served{bhttp::verb::post, "/v1/messages"}, Served{bhttp::verb::get, "/models"},
        Served{bhttp::verb::get, "/v1/models"}}) {
    router.AddStream(served.method, base + served.path, Forwarder(services, metrics, served.path),
                     options);
  }
}

}  // namespace berth::http
