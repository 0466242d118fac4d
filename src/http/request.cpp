#include "http/request.hpp"

#include <spdlog/spdlog.h>

#include <cassert>

namespace berth::http {
namespace {

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The message a client sees for kInternal: the real one may name files, queries or keys.
constexpr std::string_view kGenericInternalMessage = "internal error";

}  // namespace

std::string_view Request::Header(std::string_view name) const {
  auto it = raw.find(beast::string_view(name.data(), name.size()));
  if (it == raw.end()) return {};
  return ToStd(it->value());
}

std::optional<std::string> Request::BearerToken() const { return BearerTokenOf(raw); }

std::string_view MethodLabel(bhttp::verb method) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::post:
    case bhttp::verb::put:
    case bhttp::verb::patch:
    case bhttp::verb::delete_:
    case bhttp::verb::options:
      return ToStd(bhttp::to_string(method));
    default:
      return "other";
  }
}

std::optional<std::string> BearerTokenOf(const BeastRequest& head) {
  constexpr std::string_view kScheme = "bearer";
  auto field = head.find(bhttp::field::authorization);
  if (field == head.end()) return std::nullopt;
  std::string_view value = ToStd(field->value());
  // "<scheme> <token>": one space, then a token with no whitespace in it. Anything else
  // (several tokens, doubled spaces, another scheme) is not a bearer credential.
  if (value.size() <= kScheme.size() + 1) return std::nullopt;
  if (!EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  if (value[kScheme.size()] != ' ') return std::nullopt;
  std::string_view token = value.substr(kScheme.size() + 1);
  if (token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return std::string(token);
}

const std::string& Request::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  assert(it != params.end() && "Param() of a capture the route does not declare");
  return it == params.end() ? kEmpty : it->second;
}

Response JsonResponse(bhttp::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  // replace: a handler echoing invalid UTF-8 from a client must not turn into a 500.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

std::string_view ErrorType(bhttp::status status) {
  switch (status) {
    case bhttp::status::bad_request:
    case bhttp::status::payload_too_large:
    case bhttp::status::request_header_fields_too_large:
    case bhttp::status::method_not_allowed:
    case bhttp::status::conflict:
      return "invalid_request_error";
    case bhttp::status::unauthorized:
      return "authentication_error";
    case bhttp::status::forbidden:
      return "permission_error";
    case bhttp::status::not_found:
      return "not_found_error";
    case bhttp::status::too_many_requests:
      return "rate_limit_error";
    default:
      return "server_error";
  }
}

Response ErrorResponse(bhttp::status status, std::string_view code, std::string_view message) {
  Response res = JsonResponse(
      status, {{"error", {{"code", code}, {"message", message}, {"type", ErrorType(status)}}}});
  if (status == bhttp::status::unauthorized) res.set(bhttp::field::www_authenticate, "Bearer");
  return res;
}

Response ErrorResponse(const Status& error) {
  if (error.ok()) {
    spdlog::error("ErrorResponse built from an ok status");
    return ErrorResponse(bhttp::status::internal_server_error, ErrorCodeName(ErrorCode::kInternal),
                         kGenericInternalMessage);
  }
  if (error.code() == ErrorCode::kInternal) {
    spdlog::error("internal error: {}", error.message());
    return ErrorResponse(bhttp::status::internal_server_error, ErrorCodeName(ErrorCode::kInternal),
                         kGenericInternalMessage);
  }
  return ErrorResponse(StatusToHttp(error.code()), ErrorCodeName(error.code()), error.message());
}

Response OpenAiErrorResponse(bhttp::status status, std::string_view code,
                             std::string_view message) {
  Response res = JsonResponse(
      status,
      {{"error",
        {{"message", message}, {"type", ErrorType(status)}, {"code", code}, {"param", nullptr}}}});
  if (status == bhttp::status::unauthorized) res.set(bhttp::field::www_authenticate, "Bearer");
  return res;
}

Response OpenAiErrorResponse(const Status& error) {
  if (error.ok() || error.code() == ErrorCode::kInternal) {
    if (!error.ok()) spdlog::error("internal error: {}", error.message());
    return OpenAiErrorResponse(bhttp::status::internal_server_error,
                               ErrorCodeName(ErrorCode::kInternal), kGenericInternalMessage);
  }
  return OpenAiErrorResponse(StatusToHttp(error.code()), ErrorCodeName(error.code()),
                             error.message());
}

bhttp::status StatusToHttp(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return bhttp::status::ok;
    case ErrorCode::kInvalidArgument:
      return bhttp::status::bad_request;
    case ErrorCode::kUnauthenticated:
      return bhttp::status::unauthorized;
    case ErrorCode::kPermissionDenied:
      return bhttp::status::forbidden;
    case ErrorCode::kNotFound:
      return bhttp::status::not_found;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kAborted:
      return bhttp::status::conflict;
    case ErrorCode::kPayloadTooLarge:
      return bhttp::status::payload_too_large;
    case ErrorCode::kResourceExhausted:
      return bhttp::status::too_many_requests;
    case ErrorCode::kUnavailable:
      return bhttp::status::service_unavailable;
    case ErrorCode::kDataLoss:
      return bhttp::status::internal_server_error;
    case ErrorCode::kInternal:
      return bhttp::status::internal_server_error;
  }
  return bhttp::status::internal_server_error;
}

}  // namespace berth::http
