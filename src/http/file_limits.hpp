#pragma once

#include <sys/resource.h>

#include <cstddef>

namespace berth::http {

// Every connection is a descriptor, and a proxied chat is two: the soft limit (often 1024) would
// cap berth far below BERTH_MAX_CONNECTIONS, so take what the hard limit allows. Returns the limit
// in force.
rlim_t RaiseOpenFileLimit();

// Connections berth can really hold under `file_limit`: each may carry a chat, which needs a
// second descriptor for the gateway; some are kept for the store, the engine and the internal
// listener. Beyond this, accepts pause (clients wait in the listen queue) instead of failing with
// EMFILE mid-chat. Logs a warning when `wanted` does not fit.
std::size_t ConnectionsWithinFileLimit(std::size_t wanted, rlim_t file_limit);

}  // namespace berth::http
