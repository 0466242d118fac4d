#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "common/result.hpp"
#include "docker/docker_host.hpp"

namespace berth::docker {

// A TLS client context for an engine endpoint: TLS 1.2 or newer, peer verification on (against
// `tls.ca_file`, or the system trust store when it is empty), and the client certificate and key
// loaded when given. kInvalidArgument names the file that could not be loaded and why.
// The context is immutable once built and may be shared by concurrent connections.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const TlsSettings& tls);

}  // namespace berth::docker
