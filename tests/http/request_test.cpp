#include "http/request.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace berth::http {
namespace {

Request WithAuthorization(std::optional<std::string> value) {
  Request request;
  if (value) request.raw.set(bhttp::field::authorization, *value);
  return request;
}

TEST(Request, HeaderReturnsValueOrEmpty) {
  Request request;
  request.raw.set("X-Thing", "value");
  EXPECT_EQ(request.Header("X-Thing"), "value");
  EXPECT_EQ(request.Header("x-thing"), "value");
  EXPECT_EQ(request.Header("X-Other"), "");
}

TEST(Request, BearerTokenAcceptsOneTokenAnyCaseScheme) {
  EXPECT_EQ(WithAuthorization("Bearer abc.DEF-123").BearerToken(), "abc.DEF-123");
  EXPECT_EQ(WithAuthorization("bearer abc").BearerToken(), "abc");
  EXPECT_EQ(WithAuthorization("BEARER abc").BearerToken(), "abc");
  EXPECT_EQ(WithAuthorization("bEaReR abc").BearerToken(), "abc");
}

TEST(Request, BearerTokenRejectsEverythingElse) {
  EXPECT_EQ(WithAuthorization(std::nullopt).BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearer").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearer ").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearer  abc").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearer abc def").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearer abc\tdef").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Bearerabc").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Basic dXNlcjpwYXNz").BearerToken(), std::nullopt);
  EXPECT_EQ(WithAuthorization("Token abc").BearerToken(), std::nullopt);
}

TEST(Request, ParamReturnsCapture) {
  Request request;
  request.params["id"] = "42";
  EXPECT_EQ(request.Param("id"), "42");
}

TEST(Response, JsonResponseSetsContentTypeAndBody) {
  nlohmann::json body = {{"a", 1}, {"b", "two"}};
  Response res = JsonResponse(bhttp::status::created, body);
  EXPECT_EQ(res.result(), bhttp::status::created);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res.body(), body.dump());
  EXPECT_EQ(res[bhttp::field::content_length], std::to_string(body.dump().size()));
}

TEST(Response, JsonResponseReplacesInvalidUtf8InsteadOfThrowing) {
  Response res = JsonResponse(bhttp::status::ok, {{"s", std::string("a\xff")}});
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_FALSE(nlohmann::json::parse(res.body(), nullptr, false).is_discarded());
}

struct CodeCase {
  ErrorCode code;
  unsigned status;
  std::string name;
  std::string type;
};

TEST(Response, ErrorResponseShapeForEveryCode) {
  const std::vector<CodeCase> cases = {
      {ErrorCode::kInvalidArgument, 400, "invalid_argument", "invalid_request_error"},
      {ErrorCode::kUnauthenticated, 401, "unauthenticated", "authentication_error"},
      {ErrorCode::kPermissionDenied, 403, "permission_denied", "permission_error"},
      {ErrorCode::kNotFound, 404, "not_found", "not_found_error"},
      {ErrorCode::kAlreadyExists, 409, "already_exists", "invalid_request_error"},
      {ErrorCode::kPayloadTooLarge, 413, "payload_too_large", "invalid_request_error"},
      {ErrorCode::kResourceExhausted, 429, "resource_exhausted", "rate_limit_error"},
      {ErrorCode::kUnavailable, 503, "unavailable", "server_error"},
      {ErrorCode::kDataLoss, 500, "data_loss", "server_error"},
  };
  for (const CodeCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(static_cast<unsigned>(StatusToHttp(c.code)), c.status);
    Response res = ErrorResponse(Status(c.code, "the message"));
    EXPECT_EQ(res.result_int(), c.status);
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    nlohmann::json expected = {
        {"error", {{"code", c.name}, {"message", "the message"}, {"type", c.type}}}};
    EXPECT_EQ(nlohmann::json::parse(res.body()), expected);
    EXPECT_EQ(res.count(bhttp::field::www_authenticate), c.status == 401 ? 1u : 0u);
  }
}

TEST(Response, InternalErrorHidesItsMessage) {
  EXPECT_EQ(StatusToHttp(ErrorCode::kInternal), bhttp::status::internal_server_error);
  Response res = ErrorResponse(Internal("sqlite: no such table secrets at /var/lib/berth"));
  EXPECT_EQ(res.result_int(), 500u);
  nlohmann::json expected = {
      {"error", {{"code", "internal"}, {"message", "internal error"}, {"type", "server_error"}}}};
  EXPECT_EQ(nlohmann::json::parse(res.body()), expected);
  EXPECT_EQ(res.body().find("sqlite"), std::string::npos);
}

TEST(Response, UnauthenticatedCarriesBearerChallenge) {
  Response res = ErrorResponse(Unauthenticated("Missing Bearer token"));
  EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer");
  Response explicit_res = ErrorResponse(bhttp::status::unauthorized, "unauthenticated", "no");
  EXPECT_EQ(explicit_res[bhttp::field::www_authenticate], "Bearer");
}

TEST(Response, ExplicitErrorResponseKeepsStatusCodeAndMessage) {
  Response res = ErrorResponse(bhttp::status::method_not_allowed, "method_not_allowed", "nope");
  EXPECT_EQ(res.result_int(), 405u);
  nlohmann::json expected = {
      {"error",
       {{"code", "method_not_allowed"}, {"message", "nope"}, {"type", "invalid_request_error"}}}};
  EXPECT_EQ(nlohmann::json::parse(res.body()), expected);
}

}  // namespace
}  // namespace berth::http
