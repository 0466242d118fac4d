#pragma once

#include <functional>
#include <string_view>

#include "http/request.hpp"

namespace berth::http {

using ResponseHead = bhttp::response<bhttp::empty_body>;

// How a streaming handler (Router::AddStream) answers: either one whole response (Send), or a
// response whose body is written piece by piece as it becomes available (Begin, Write, End).
// The server owns the writer; it lives for the handler's call. Every member runs on the
// connection's executor (executor()); none may be called concurrently with another.
//
// The server adds Server, X-Request-Id and Connection, as for other handlers; a streamed body
// goes out with Transfer-Encoding: chunked (to an HTTP/1.0 client: raw, ended by closing).
// A handler that returns without having answered gets a 500; one that returns after Begin
// without End gets its connection closed, so a client never mistakes a cut stream for a whole
// one.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Sends a whole response. REQUIRES: nothing sent yet. false when the client could not be
  // written to (it is gone; the handler should stop).
  virtual net::awaitable<bool> Send(Response& response) = 0;
  // Starts a streamed response: its status line and headers go out with the first Write(),
  // End() or Flush(), in the same system call as what follows them. REQUIRES: nothing sent yet.
  virtual net::awaitable<bool> Begin(ResponseHead& head) = 0;
  // Sends one piece of the body at once (no buffering on berth's side). Waits while the client
  // does not read (backpressure), at most the write timeout; false when the client is gone or
  // the timeout passed. REQUIRES: Begin() succeeded.
  virtual net::awaitable<bool> Write(std::string_view data) = 0;
  // Sends what Begin() still holds (the headers), so that the client sees the answer started
  // before a wait; true at once when nothing is held. REQUIRES: Begin() succeeded.
  virtual net::awaitable<bool> Flush() = 0;
  // Ends the streamed body, after its last piece `data` (may be empty): one write for both.
  // REQUIRES: Begin() succeeded.
  virtual net::awaitable<bool> End(std::string_view data = {}) = 0;

  // Until the handler returns, watches the client connection while the handler waits on
  // something else, and runs `on_gone` once (on executor()) as soon as the client closes or
  // resets it: that is how a handler cancels upstream work at once. A client that sends more
  // bytes (a pipelined request) ends the watch without calling it.
  virtual void WatchClient(std::function<void()> on_gone) = 0;
  // True once the client is known to be gone (WatchClient saw it, or a write failed).
  virtual bool client_gone() const = 0;
  // True once Send() or Begin() was called.
  virtual bool started() const = 0;

  virtual net::any_io_executor executor() = 0;
};

}  // namespace berth::http
