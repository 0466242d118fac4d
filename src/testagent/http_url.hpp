#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::testagent {

// An absolute http:// URL split for a client: host, port and the path (query included), as the
// test agent needs them for MOSAIC_API_URL and provider baseUrls.
struct HttpUrl {
  std::string host;  // without brackets for IPv6 literals
  std::string port;  // "80" when the URL names none
  std::string path;  // starts with '/'; "/" when the URL has none

  // "host:port", with brackets around IPv6 literals: the Host header value.
  std::string HostHeader() const;
};

// Parses `http://host[:port][/path]`. Only plain http is supported (the test agent talks to
// berth and to test fakes): https:// and every other scheme are kInvalidArgument, as are
// missing hosts, user info and ports outside 1..65535.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// `base` + "/" + `suffix`, with exactly one '/' between them (a trailing one on base and a
// leading one on suffix are merged).
std::string JoinPath(std::string_view base, std::string_view suffix);

}  // namespace berth::testagent
