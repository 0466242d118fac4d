#include "testagent/http_url.hpp"

#include <algorithm>
#include <cctype>

namespace berth::testagent {

std::string HttpUrl::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == "80" ? h : h + ":" + port;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid URL \"" + std::string(url) + "\": " + why);
  };
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    if (url.substr(0, 8) == "https://") return bad("https is not supported, use http://");
    return bad("only http:// URLs are supported");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (path.empty() || path.front() != '/') path = "/";  // "?q" without a path
  std::size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");

  HttpUrl out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 literal");
      port = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (port.empty()) {
    out.port = "80";
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("invalid port");
    }
    int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) return bad("port out of range");
    out.port = std::to_string(value);
  }
  out.path = std::string(path);
  return out;
}

std::string JoinPath(std::string_view base, std::string_view suffix) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!suffix.empty() && suffix.front() == '/') suffix.remove_prefix(1);
  std::string out(base);
  out += '/';
  out += suffix;
  return out;
}

}  // namespace berth::testagent
