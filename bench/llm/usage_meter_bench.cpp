// What usage accounting costs per streamed call (bench/README.md, "LLM gateway"): the request
// preparation (a one-pass scan of the body, include_usage added) and the meter over the same
// answer bench_sse_upstream sends (N content events, a usage event, [DONE]), fed in the pieces a
// socket read would give. bench/llm/run.sh divides this by berth's measured CPU per request.
#include <benchmark/benchmark.h>

#include <string>

#include "llm/usage_meter.hpp"

namespace {

constexpr char kBody[] =
    R"({"model":"openclaw","stream":true,"bench":{"chunks":20},"messages":[{"role":"user",)"
    R"("content":"Say tok, as often as you like."}]})";

std::string Answer(int chunks) {
  const std::string head = R"(data: {"id":"chatcmpl-0123456789abcdef","object":)"
                           R"("chat.completion.chunk","created":1765000000,"model":"openclaw",)";
  std::string out;
  for (int i = 0; i < chunks; ++i) {
    out += head + R"("choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]})" +
           "\n\n";
  }
  out += head + R"("choices":[],"usage":{"prompt_tokens":8,"completion_tokens":20,)" +
         R"("total_tokens":28}})" + "\n\n";
  out += "data: [DONE]\n\n";
  return out;
}

void BM_AccountOneStreamedCall(benchmark::State& state) {
  const std::string answer = Answer(static_cast<int>(state.range(0)));
  const std::size_t piece = static_cast<std::size_t>(state.range(1));
  std::string out;
  for (auto _ : state) {
    auto prepared = berth::llm::PrepareRequest(berth::llm::WireApi::kOpenAiCompletions, kBody);
    berth::llm::UsageMeter meter(berth::llm::WireApi::kOpenAiCompletions, true, true,
                                 prepared.strip_usage_chunk);
    for (std::size_t at = 0; at < answer.size(); at += piece) {
      out.clear();
      meter.Feed(std::string_view(answer).substr(at, piece), out);
      benchmark::DoNotOptimize(out.data());
    }
    meter.Finish(out);
    benchmark::DoNotOptimize(meter.usage());
  }
}
// 20 events in one read (the upstream writes a whole short answer at once), and in 512-byte reads.
BENCHMARK(BM_AccountOneStreamedCall)->Args({20, 1 << 16})->Args({20, 512});

}  // namespace

BENCHMARK_MAIN();
