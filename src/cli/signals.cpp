#include "cli/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace berth::cli {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::thread StartSignalWaiter(std::function<void()> on_signal) {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set, on_signal = std::move(on_signal)] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    on_signal();
  });
}

bool WaitForTerminationSignal(std::chrono::milliseconds timeout) {
  sigset_t set = TerminationSignals();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec wait{static_cast<time_t>(seconds.count()),
                static_cast<long>(std::chrono::nanoseconds(timeout - seconds).count())};
  for (;;) {
    const int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      return true;
    }
    if (sig < 0 && errno == EINTR) continue;  // another signal's handler ran: wait again
    return false;                             // EAGAIN: the time passed without one
  }
}

void ReleaseSignalWaiter() { ::kill(::getpid(), SIGTERM); }

}  // namespace berth::cli
