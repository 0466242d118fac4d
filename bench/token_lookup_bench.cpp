// bench_token_lookup: the cost of resolving a container bearer token, berth's way against the
// seed's, at 1k/10k/100k container records in a real SQLite file.
//
//   BM_HashIndex     berth: ContainerService::AuthenticateContainer, the internal endpoint's own
//                    lookup: crypto::TokenHash (SHA-256), Store::LoadAgentConfigSource (unique
//                    index, one read snapshot; no providers are seeded here) and a constant-time
//                    compare.
//                    Each iteration looks up the next of all N tokens in turn, so the lookups do
//                    not hit one cached row.
//   BM_SeedScanStore the seed: read every container record (Store::ListUserContainers, as the
//                    seed's findMany did, once per lookup), then SecretBox::Open each sealed token
//                    in order and compare until one matches.
//   BM_SeedScanPreloaded the same scan over sealed tokens loaded once beforehand, isolating the
//                    decryption cost from the database read.
// The scans look for the token of the record at target_pct of the table (50 = the middle, the
// average case; 100 = the last record, the worst case and every failed lookup).
//
// Databases are seeded through berth's services (bench/seeding.hpp) in a temporary directory
// that is removed at exit. After the usual Google Benchmark output, a summary prints the time
// per lookup of each method and its ratio to the hash index.

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/seeding.hpp"
#include "crypto/key_provider.hpp"
#include "crypto/secret_box.hpp"
#include "crypto/tokens.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"

namespace berth::bench {
namespace {

constexpr int64_t kSizes[] = {1000, 10000, 100000};
constexpr int64_t kTargetPcts[] = {50, 100};

// Where the databases go: BENCH_TMPDIR, else /dev/shm when writable (seeding 111k users is
// several times faster on tmpfs, and the lookups read from the page cache either way), else the
// system temp directory.
std::string BaseTempDir() {
  if (const char* dir = std::getenv("BENCH_TMPDIR"); dir != nullptr && *dir != '\0') return dir;
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path().string();
}

// One seeded database of N container records.
struct Dataset {
  store::StorePtr store;
  std::shared_ptr<const crypto::SecretBox> secrets;
  std::shared_ptr<service::ContainerService> containers;
  std::vector<SeededContainer> seeded;  // creation order = ListUserContainers order
  std::vector<std::string> sealed;      // sealed tokens in that order, for the preloaded scan
};

// Datasets are built on first use and live until Reset(); their files sit in one temp dir.
class Datasets {
 public:
  static Datasets& Instance() {
    static Datasets instance;
    return instance;
  }

  // nullptr (with *error set) when the database cannot be created or seeded.
  Dataset* Get(std::size_t n, std::string* error) {
    auto it = sets_.find(n);
    if (it != sets_.end()) return it->second.get();
    if (dir_.empty()) {
      std::string pattern = BaseTempDir() + "/berth-bench-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) {
        *error = "cannot create a temporary directory";
        return nullptr;
      }
      dir_ = pattern;
    }
    auto set = std::make_unique<Dataset>();
    auto keys = std::make_shared<crypto::StaticKeyProvider>(std::string(32, '\x5a'));
    set->secrets = std::make_shared<const crypto::SecretBox>(keys);
    auto store = store::OpenStore("sqlite://" + dir_ + "/berth-" + std::to_string(n) + ".db");
    if (!store.ok()) {
      *error = store.status().message();
      return nullptr;
    }
    set->store = *store;
    ClockPtr clock = std::make_shared<SystemClock>();
    auto providers = std::make_shared<service::ProviderService>(set->store, set->secrets, clock);
    set->containers =
        std::make_shared<service::ContainerService>(set->store, set->secrets, providers, clock);

    const auto start = std::chrono::steady_clock::now();
    SeedOptions options;
    options.users = n;
    options.with_providers = false;  // providers play no part in token lookup
    auto seeded = SeedUserContainers(set->store, set->secrets, options);
    if (!seeded.ok()) {
      *error = seeded.status().message();
      return nullptr;
    }
    set->seeded = std::move(*seeded);
    auto records = set->store->ListUserContainers();
    if (!records.ok() || records->size() != n) {
      *error = "ListUserContainers did not return the seeded records";
      return nullptr;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if ((*records)[i].id != set->seeded[i].id) {
        *error = "ListUserContainers order differs from creation order";
        return nullptr;
      }
      set->sealed.push_back((*records)[i].gateway_token);
    }
    std::fprintf(stderr, "(seeded %zu container records in %.1f s)\n", n,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return (sets_[n] = std::move(set)).get();
  }

  void Reset() {
    sets_.clear();  // closes the databases before their files go
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  std::string dir_;
  std::map<std::size_t, std::unique_ptr<Dataset>> sets_;
};

Dataset* SetUp(benchmark::State& state) {
  std::string error;
  Dataset* set = Datasets::Instance().Get(static_cast<std::size_t>(state.range(0)), &error);
  if (set == nullptr) state.SkipWithError(error.c_str());
  return set;
}

std::size_t TargetIndex(const benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto pct = static_cast<std::size_t>(state.range(1));
  return n * pct / 100 - 1;
}

// The seed's comparison loop: open each sealed token in order until one equals `token`.
// Returns the index found, or -1.
template <typename Sealed>
long ScanFor(const crypto::SecretBox& secrets, const std::vector<Sealed>& rows,
             const std::string& (*sealed_of)(const Sealed&), const std::string& token) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto plain = secrets.Open(sealed_of(rows[i]));
    if (plain.ok() && *plain == token) return static_cast<long>(i);
  }
  return -1;
}

const std::string& SealedOfString(const std::string& s) { return s; }
const std::string& SealedOfRecord(const store::UserContainer& c) { return c.gateway_token; }

void BM_HashIndex(benchmark::State& state) {
  Dataset* set = SetUp(state);
  if (set == nullptr) return;
  std::size_t next = 0;
  for (auto _ : state) {
    const SeededContainer& c = set->seeded[next];
    next = (next + 1) % set->seeded.size();
    auto ref = set->containers->AuthenticateContainer(c.token);
    if (!ref.ok() || ref->container.id != c.id) {
      state.SkipWithError("hash lookup did not find the container");
      return;
    }
    benchmark::DoNotOptimize(ref);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SeedScanStore(benchmark::State& state) {
  Dataset* set = SetUp(state);
  if (set == nullptr) return;
  const std::size_t target = TargetIndex(state);
  const std::string& token = set->seeded[target].token;
  for (auto _ : state) {
    auto rows = set->store->ListUserContainers();
    const long found =
        rows.ok() ? ScanFor<store::UserContainer>(*set->secrets, *rows, &SealedOfRecord, token)
                  : -1;
    if (found != static_cast<long>(target)) {
      state.SkipWithError("scan did not find the container");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["decrypts"] = static_cast<double>(target + 1);
}

void BM_SeedScanPreloaded(benchmark::State& state) {
  Dataset* set = SetUp(state);
  if (set == nullptr) return;
  const std::size_t target = TargetIndex(state);
  const std::string& token = set->seeded[target].token;
  for (auto _ : state) {
    if (ScanFor<std::string>(*set->secrets, set->sealed, &SealedOfString, token) !=
        static_cast<long>(target)) {
      state.SkipWithError("scan did not find the container");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["decrypts"] = static_cast<double>(target + 1);
}

void HashArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"records"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  for (int64_t n : kSizes) b->Arg(n);
}

void ScanArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"records", "target_pct"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  for (int64_t n : kSizes) {
    for (int64_t pct : kTargetPcts) b->Args({n, pct});
  }
}

BENCHMARK(BM_HashIndex)->Apply(HashArgs);
BENCHMARK(BM_SeedScanPreloaded)->Apply(ScanArgs);
BENCHMARK(BM_SeedScanStore)->Apply(ScanArgs);

// Console output as usual, plus the per-lookup times kept for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(bool color) : ConsoleReporter(color ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      // Every benchmark here reports microseconds.
      wall_[run.benchmark_name()] = run.GetAdjustedRealTime();
      cpu_[run.benchmark_name()] = run.GetAdjustedCPUTime();
    }
  }

  // Wall time is what a caller waits; CPU time is steadier on a shared machine.
  void PrintSummary() const {
    PrintTable("wall", wall_);
    PrintTable("CPU", cpu_);
  }

 private:
  static void PrintTable(const char* kind, const std::map<std::string, double>& micros) {
    std::printf("\nToken lookup, %s time per lookup (ratio = seed method / berth's hash index)\n",
                kind);
    std::printf("%9s  %12s  %26s  %26s  %26s  %26s\n", "records", "hash index",
                "seed scan preloaded @50%", "seed scan preloaded @100%", "seed scan +read @50%",
                "seed scan +read @100%");
    for (int64_t n : kSizes) {
      const std::string records = "records:" + std::to_string(n);
      auto hash = micros.find("BM_HashIndex/" + records + "/real_time");
      if (hash == micros.end()) continue;
      std::printf("%9lld  %9.2f us", static_cast<long long>(n), hash->second);
      for (const char* method : {"BM_SeedScanPreloaded", "BM_SeedScanStore"}) {
        for (int64_t pct : kTargetPcts) {
          auto it = micros.find(std::string(method) + "/" + records +
                                "/target_pct:" + std::to_string(pct) + "/real_time");
          if (it == micros.end()) {
            std::printf("  %26s", "-");
          } else {
            std::printf("  %11.1f us (x%9.0f)", it->second, it->second / hash->second);
          }
        }
      }
      std::printf("\n");
    }
  }

  std::map<std::string, double> wall_;
  std::map<std::string, double> cpu_;
};

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  berth::bench::SummaryReporter reporter(::isatty(STDOUT_FILENO) == 1);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  berth::bench::Datasets::Instance().Reset();
  benchmark::Shutdown();
  return 0;
}
