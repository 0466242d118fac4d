#include "http/file_limits.hpp"

#include <spdlog/spdlog.h>

namespace berth::http {

rlim_t RaiseOpenFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      spdlog::debug("open file limit raised from {} to {}", before, limit.rlim_cur);
    } else {
      limit.rlim_cur = before;
    }
  }
  return limit.rlim_cur;
}

std::size_t ConnectionsWithinFileLimit(std::size_t wanted, rlim_t file_limit) {
  constexpr rlim_t kReserved = 256;
  const std::size_t fits =
      file_limit > kReserved * 2 ? static_cast<std::size_t>((file_limit - kReserved) / 2) : 1;
  if (wanted <= fits) return wanted;
  spdlog::warn(
      "BERTH_MAX_CONNECTIONS {} exceeds what the open file limit {} allows with a gateway "
      "connection each; serving at most {} connections (raise the hard limit, ulimit -Hn, to hold "
      "more)",
      wanted, static_cast<unsigned long long>(file_limit), fits);
  return fits;
}

}  // namespace berth::http
