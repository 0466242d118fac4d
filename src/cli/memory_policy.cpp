#include "cli/memory_policy.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace berth::cli {

void ReturnLargeBlocksToTheSystem() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.mmap_threshold") != nullptr) {
    return;
  }
  // A fixed threshold also turns the dynamic one off (mallopt(3)).
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

}  // namespace berth::cli
