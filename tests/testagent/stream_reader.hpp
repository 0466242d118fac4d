#pragma once

// Reads an HTTP response body piece by piece as it arrives, so tests can see that a stream is
// forwarded as it is produced (and can hang up in the middle of one).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "support/http_client.hpp"

namespace berth::testing {

class StreamReader {
 public:
  // Connects to 127.0.0.1:port and sends the request. Every later read waits at most `timeout`.
  StreamReader(unsigned short port, const std::string& method, const std::string& target,
               const std::string& body, const std::map<std::string, std::string>& headers,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~StreamReader();

  // Reads the status line and headers; false on error or timeout.
  bool ReadHeader();
  int status() const;
  // Lowercase name; "" when absent.
  std::string Header(const std::string& name) const;
  // The next body bytes as they arrive (blocks until some do). nullopt at the end of the body,
  // on an error or on timeout; see done() and error().
  std::optional<std::string> ReadSome();
  // Reads until the accumulated body contains `text`; false on end, error or timeout.
  bool ReadUntil(const std::string& text);
  const std::string& body() const { return body_; }
  bool done() const;
  std::string error() const;
  // Hangs up at once.
  void Close();

 private:
  friend HttpResult Exchange(unsigned short, const std::string&, const std::string&,
                             const std::string&, const std::map<std::string, std::string>&);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string body_;
};

// One whole exchange through a StreamReader (status 0 when it failed). Used instead of
// HttpRequest from support/http_client, whose parser refuses Content-Length answers whose header
// arrives in a segment of its own (Beast 1.74 with body_limit(boost::none)).
HttpResult Exchange(unsigned short port, const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {});

}  // namespace berth::testing
