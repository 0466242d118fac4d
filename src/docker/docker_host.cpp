#include "docker/docker_host.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace berth::docker {
namespace {

constexpr uint16_t kPlainPort = 2375;
constexpr uint16_t kTlsPort = 2376;

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Status Bad(const std::string& host, const std::string& why) {
  return InvalidArgument("DOCKER_HOST \"" + host + "\": " + why);
}

std::string HomeDirectory() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/root";
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Fills `endpoint.tls` for a TCP endpoint. `required`: DOCKER_TLS_VERIFY is set, so every file
// must exist; otherwise (https:// alone) the files that exist are used.
Status ResolveTls(EngineEndpoint& endpoint, bool required, const std::string& cert_path) {
  const std::string dir = cert_path.empty() ? HomeDirectory() + "/.docker" : cert_path;
  TlsSettings tls;
  const std::string ca = dir + "/ca.pem";
  const std::string cert = dir + "/cert.pem";
  const std::string key = dir + "/key.pem";
  if (required) {
    for (const std::string& file : {ca, cert, key}) {
      if (!FileExists(file)) {
        return InvalidArgument(
            "DOCKER_TLS_VERIFY is set but " + file + " does not exist (DOCKER_CERT_PATH " +
            (cert_path.empty() ? "unset, default ~/.docker" : "\"" + cert_path + "\"") + ")");
      }
    }
    tls.ca_file = ca;
    tls.cert_file = cert;
    tls.key_file = key;
  } else {
    if (FileExists(ca)) tls.ca_file = ca;
    if (FileExists(cert) && FileExists(key)) {
      tls.cert_file = cert;
      tls.key_file = key;
    }
  }
  endpoint.tls = std::move(tls);
  return Status::Ok();
}

// Parses "host[:port][/]" (host may be a bracketed IPv6 address) into the endpoint.
Status ParseAuthority(const std::string& original, std::string_view rest, uint16_t default_port,
                      EngineEndpoint& endpoint) {
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/")
      return Bad(original, "a path after the address is not supported");
    rest = rest.substr(0, slash);
  }
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return Bad(original, "queries, fragments and user names are not supported");
  }
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return Bad(original, "unterminated '[' in the address");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(original, "expected ':port' after ']'");
      port = after.substr(1);
      if (port.empty()) return Bad(original, "empty port");
    }
    if (host.empty()) return Bad(original, "empty IPv6 address");
  } else {
    auto colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return Bad(original, "an IPv6 address must be written in brackets, e.g. tcp://[::1]:2375");
    }
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return Bad(original, "empty port");
    }
  }
  endpoint.host = host.empty() ? "localhost" : std::string(host);
  endpoint.port = default_port;
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Bad(original, "port \"" + std::string(port) + "\" is not a number");
    }
    int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) {
      return Bad(original, "port " + std::string(port) + " is out of range");
    }
    endpoint.port = static_cast<uint16_t>(value);
  }
  return Status::Ok();
}

std::string Bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string EngineEndpoint::ToString() const {
  if (kind == Kind::kUnix) return "unix://" + socket_path;
  return (tls ? "https://" : "tcp://") + Bracketed(host) + ":" + std::to_string(port);
}

std::string EngineEndpoint::HostHeader() const {
  if (kind == Kind::kUnix) return "localhost";
  return Bracketed(host) + ":" + std::to_string(port);
}

Result<EngineEndpoint> ParseDockerHost(const std::string& host_in, const std::string& tls_verify,
                                       const std::string& cert_path) {
  const std::string host = Trim(host_in);
  const bool verify = !Trim(tls_verify).empty();
  EngineEndpoint endpoint;
  if (host.empty()) return ParseDockerHost(kDefaultDockerHost, tls_verify, cert_path);
  if (host.front() == '/') {
    endpoint.kind = EngineEndpoint::Kind::kUnix;
    endpoint.socket_path = host;
    return endpoint;
  }
  std::string scheme = "tcp";
  std::string_view rest = host;
  if (auto sep = host.find("://"); sep != std::string::npos) {
    scheme = Lower(host.substr(0, sep));
    rest = std::string_view(host).substr(sep + 3);
  }
  if (scheme == "unix") {
    if (rest.empty()) {
      endpoint.socket_path = std::string(kDefaultDockerHost).substr(7);
    } else if (rest.front() != '/') {
      return Bad(host, "the socket path must be absolute, e.g. unix:///var/run/docker.sock");
    } else {
      endpoint.socket_path = std::string(rest);
    }
    endpoint.kind = EngineEndpoint::Kind::kUnix;
    return endpoint;
  }
  bool use_tls = false;
  uint16_t default_port = kPlainPort;
  if (scheme == "tcp" || scheme == "http") {
    use_tls = verify;
    default_port = verify && scheme == "tcp" ? kTlsPort : kPlainPort;
  } else if (scheme == "https") {
    use_tls = true;
    default_port = kTlsPort;
  } else {
    return Bad(host,
               "scheme \"" + scheme +
                   "\" is not supported (use unix://, tcp://, http://, https:// or a socket path)");
  }
  if (rest.empty()) return Bad(host, "no address after the scheme");
  endpoint.kind = EngineEndpoint::Kind::kTcp;
  BERTH_RETURN_IF_ERROR(ParseAuthority(host, rest, default_port, endpoint));
  if (use_tls) BERTH_RETURN_IF_ERROR(ResolveTls(endpoint, verify, cert_path));
  return endpoint;
}

Result<EngineEndpoint> EndpointFromEnvironment() {
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value ? value : "");
  };
  return ParseDockerHost(env("DOCKER_HOST"), env("DOCKER_TLS_VERIFY"), env("DOCKER_CERT_PATH"));
}

}  // namespace berth::docker
