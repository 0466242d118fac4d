#include "http/internal_listener.hpp"

#include <spdlog/spdlog.h>

#include "config/settings.hpp"

namespace berth::http {

InternalListener::InternalListener(std::string setting, const Router& router,
                                   RequestObserver on_request)
    : setting_(std::move(setting)), router_(router), on_request_(std::move(on_request)) {}

InternalListener::~InternalListener() { Stop(); }

Result<std::string> InternalListener::Open(const std::string& gateway) {
  if (setting_ == "off") {
    return InvalidArgument(
        "MOSAIC_API_URL: not set, and BERTH_INTERNAL_LISTEN is off: agents could not reach berth");
  }
  std::string host;
  unsigned short port = 0;
  BERTH_RETURN_IF_ERROR(config::ParseListen(setting_, &host, &port));
  if (setting_.front() == ':' || host == "0.0.0.0") host = gateway;
  ServerOptions options;
  options.host = host;
  options.port = port;
  options.threads = 1;
  options.on_request = on_request_;
  auto server = std::make_unique<Server>(options, router_);
  if (Status st = server->Listen(); !st.ok()) {
    return Status(st.code(), "BERTH_INTERNAL_LISTEN: " + st.message());
  }
  const std::string url = "http://" + host + ":" + std::to_string(server->port()) + "/api";
  std::lock_guard lock(mu_);
  if (stopped_) return Unavailable("shutting down");
  server_ = std::move(server);
  thread_ = std::thread([s = server_.get()] { s->Run(); });
  spdlog::info("internal endpoint for agents listening on {}:{}", host, server_->port());
  return url;
}

void InternalListener::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (server_) server_->Stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace berth::http
