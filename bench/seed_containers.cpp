// bench_seed: fills a berth database with N users, each with one user container record and one
// provider, through berth's own services, and writes "<container id> <token>" per line for the
// load generator (bench/internal_endpoint.lua).
//
//   bench_seed <database url> <encryption key, 64 hex chars> <N> <output file> [--no-providers]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench/seeding.hpp"
#include "crypto/key_file.hpp"
#include "crypto/key_provider.hpp"
#include "store/store.hpp"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: bench_seed <database url> <encryption key (64 hex)> <N> <output file> "
               "[--no-providers]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) return Usage();
  const std::string database_url = argv[1];
  const std::string key_text = argv[2];
  const std::string output_path = argv[4];
  char* end = nullptr;
  const unsigned long long n = std::strtoull(argv[3], &end, 10);
  if (end == argv[3] || *end != '\0' || n == 0) return Usage();
  bool with_providers = true;
  if (argc == 6) {
    if (std::string(argv[5]) != "--no-providers") return Usage();
    with_providers = false;
  }

  auto key = berth::crypto::ParseKey(key_text);
  if (!key.ok()) {
    std::fprintf(stderr, "bench_seed: encryption key: %s\n", key.status().message().c_str());
    return 2;
  }
  auto keys = std::make_shared<berth::crypto::StaticKeyProvider>(std::move(*key));
  auto secrets = std::make_shared<const berth::crypto::SecretBox>(keys);
  auto store = berth::store::OpenStore(database_url);
  if (!store.ok()) {
    std::fprintf(stderr, "bench_seed: %s\n", store.status().message().c_str());
    return 1;
  }

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  berth::bench::SeedOptions options;
  options.users = n;
  options.with_providers = with_providers;
  options.progress = [&elapsed](std::size_t done) {
    std::fprintf(stderr, "bench_seed: %zu users seeded (%.1f s)\n", done, elapsed());
  };
  auto seeded = berth::bench::SeedUserContainers(*store, secrets, options);
  if (!seeded.ok()) {
    std::fprintf(stderr, "bench_seed: %s\n", seeded.status().message().c_str());
    return 1;
  }
  const double seconds = elapsed();

  std::ofstream out(output_path, std::ios::trunc);
  for (const auto& c : *seeded) out << c.id << ' ' << c.token << '\n';
  out.close();
  if (!out) {
    std::fprintf(stderr, "bench_seed: cannot write %s\n", output_path.c_str());
    return 1;
  }
  std::printf("seeded %llu users with one container record%s each in %.1f s (%.0f users/s)\n", n,
              with_providers ? " and one provider" : "", seconds, static_cast<double>(n) / seconds);
  return 0;
}
