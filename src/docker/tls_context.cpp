#include "docker/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>

namespace berth::docker {
namespace {

namespace ssl = boost::asio::ssl;

Status LoadError(const char* what, const std::string& file, const boost::system::error_code& ec) {
  return InvalidArgument(std::string("cannot load the TLS ") + what + " " + file + ": " +
                         ec.message());
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const TlsSettings& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (ec) return Internal("cannot configure TLS: " + ec.message());
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) return LoadError("CA certificate", tls.ca_file, ec);
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) return Internal("cannot load the system's trusted certificates: " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return Internal("cannot configure TLS verification: " + ec.message());
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) return LoadError("client certificate", tls.cert_file, ec);
    ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    const bool mismatch = ec ? ec.category() == boost::asio::error::get_ssl_category() &&
                                   ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
                                       X509_R_KEY_VALUES_MISMATCH
                             : SSL_CTX_check_private_key(ctx->native_handle()) != 1;
    if (mismatch) {
      ERR_clear_error();
      return InvalidArgument("the TLS client key " + tls.key_file +
                             " does not match the certificate " + tls.cert_file);
    }
    if (ec) return LoadError("client key", tls.key_file, ec);
  }
  return ctx;
}

}  // namespace berth::docker
