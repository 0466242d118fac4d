#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace berth::docker {

// The engine address berth uses when DOCKER_HOST is unset, like the docker CLI.
inline constexpr char kDefaultDockerHost[] = "unix:///var/run/docker.sock";

// TLS settings for a tcp engine. The server certificate is always verified (against `ca_file`
// when set, else the system's trust store) and its name checked against the host; the client
// presents `cert_file`/`key_file` when set.
struct TlsSettings {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// Where the engine listens: a unix socket, or a TCP host with or without TLS.
struct EngineEndpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string socket_path;         // kUnix
  std::string host;                // kTcp: name or IP address (IPv6 without brackets)
  uint16_t port = 0;               // kTcp
  std::optional<TlsSettings> tls;  // kTcp only

  // The address as a DOCKER_HOST value ("unix:///var/run/docker.sock", "tcp://h:2375",
  // "https://h:2376"): used in error messages.
  std::string ToString() const;
  // The Host header the engine is sent: "localhost" for a socket, "h:port" for TCP.
  std::string HostHeader() const;
};

// Interprets DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does:
//   ""                      unix:///var/run/docker.sock
//   unix:///path, /path     a unix socket (TLS settings ignored)
//   tcp://h[:p]             plain TCP, port 2375; with DOCKER_TLS_VERIFY set, TLS on port 2376
//   http://h[:p]            plain TCP, port 2375 (TLS when DOCKER_TLS_VERIFY is set)
//   https://h[:p]           TLS, port 2376
// DOCKER_TLS_VERIFY non-empty turns TLS on with the server verified against
// `<cert_path>/ca.pem` and the client certificate `<cert_path>/{cert,key}.pem`, all required.
// For https:// without DOCKER_TLS_VERIFY those files are used when present (else the system trust
// store and no client certificate). `cert_path` empty means `$HOME/.docker`. Files are checked
// for existence here; their contents when the transport is built.
// Errors: kInvalidArgument naming DOCKER_HOST (or DOCKER_CERT_PATH) and the problem.
Result<EngineEndpoint> ParseDockerHost(const std::string& host, const std::string& tls_verify,
                                       const std::string& cert_path);

// ParseDockerHost over the process environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
Result<EngineEndpoint> EndpointFromEnvironment();

}  // namespace berth::docker
