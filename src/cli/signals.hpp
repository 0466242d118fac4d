#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace berth::cli {

// Blocks SIGINT/SIGTERM in the calling thread and every thread it starts afterwards, so that they
// reach only the signal waiter and shutdown stays graceful. Call before any other thread exists.
void BlockTerminationSignals();

// Waits for SIGINT/SIGTERM on a thread of its own, which then calls on_signal once. Returns that
// thread. REQUIRES: BlockTerminationSignals() ran before any other thread was started.
std::thread StartSignalWaiter(std::function<void()> on_signal);

// Waits up to `timeout` (0: only looks) for SIGINT/SIGTERM on the calling thread, before the
// signal waiter runs (e.g. while waiting for the database at start); true when one arrived (it
// is consumed and logged). REQUIRES: BlockTerminationSignals() ran.
bool WaitForTerminationSignal(std::chrono::milliseconds timeout);

// Ends a waiter that no signal reached (an aborted start): sends this process SIGTERM.
void ReleaseSignalWaiter();

}  // namespace berth::cli
