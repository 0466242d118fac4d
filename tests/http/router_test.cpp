#include "http/router.hpp"

#include <gtest/gtest.h>

#include <string>

namespace berth::http {
namespace {

Request MakeRequest(bhttp::verb method, const std::string& target) {
  Request request;
  request.raw.method(method);
  request.raw.target(target);
  return request;
}

// Answers with the route's name, its captures and query, so tests see what matched.
Handler Echo(std::string name) {
  return [name](Request& request) {
    return JsonResponse(bhttp::status::ok, {{"route", name},
                                            {"params", request.params},
                                            {"query", request.query},
                                            {"path", request.path}});
  };
}

nlohmann::json Body(const Response& res) { return nlohmann::json::parse(res.body()); }

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add(bhttp::verb::get, "/healthz", Echo("healthz"));
    router_.Add(bhttp::verb::get, "/api/users/:id", Echo("get-user"));
    router_.Add(bhttp::verb::delete_, "/api/users/:id", Echo("delete-user"));
    router_.Add(bhttp::verb::get, "/api/users/:id/tokens/:token", Echo("get-token"));
    router_.Add(bhttp::verb::post, "/api/users", Echo("create-user"));
    router_.Add(bhttp::verb::get, "/api/users/me", Echo("me"));
    router_.Add(bhttp::verb::get, "/", Echo("root"));
  }

  Response Dispatch(bhttp::verb method, const std::string& target) {
    last_ = MakeRequest(method, target);
    return router_.Dispatch(last_);
  }

  Router router_;
  Request last_;
};

TEST_F(RouterTest, MatchesLiteralRoute) {
  Response res = Dispatch(bhttp::verb::get, "/healthz");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(Body(res)["route"], "healthz");
  EXPECT_EQ(Dispatch(bhttp::verb::get, "/").result_int(), 200u);
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/"))["route"], "root");
}

TEST_F(RouterTest, CapturesNamedSegments) {
  Response res = Dispatch(bhttp::verb::get, "/api/users/u1/tokens/t2");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(Body(res)["route"], "get-token");
  EXPECT_EQ(last_.Param("id"), "u1");
  EXPECT_EQ(last_.Param("token"), "t2");
}

TEST_F(RouterTest, MethodSelectsAmongSamePattern) {
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/api/users/7"))["route"], "get-user");
  EXPECT_EQ(Body(Dispatch(bhttp::verb::delete_, "/api/users/7"))["route"], "delete-user");
}

TEST_F(RouterTest, LiteralBeatsCaptureWhateverTheOrder) {
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/api/users/me"))["route"], "me");
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/api/users/mee"))["route"], "get-user");
}

TEST_F(RouterTest, CaptureDoesNotMatchEmptySegment) {
  EXPECT_EQ(Dispatch(bhttp::verb::get, "/api/users//tokens/t").result_int(), 404u);
}

TEST_F(RouterTest, UnknownPathIs404JsonError) {
  Response res = Dispatch(bhttp::verb::get, "/nope/x?secret=1");
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  nlohmann::json expected = {
      {"error",
       {{"code", "not_found"}, {"message", "no route for /nope/x"}, {"type", "not_found_error"}}}};
  EXPECT_EQ(Body(res), expected);
  EXPECT_EQ(Dispatch(bhttp::verb::get, "/api/users/1/2").result_int(), 404u);
  EXPECT_EQ(Dispatch(bhttp::verb::options, "*").result_int(), 404u);
}

TEST_F(RouterTest, WrongMethodIs405WithAllowHeader) {
  Response res = Dispatch(bhttp::verb::put, "/api/users/7");
  EXPECT_EQ(res.result_int(), 405u);
  EXPECT_EQ(res[bhttp::field::allow], "GET, DELETE");
  EXPECT_EQ(Body(res)["error"]["code"], "method_not_allowed");

  Response post_only = Dispatch(bhttp::verb::get, "/api/users");
  EXPECT_EQ(post_only.result_int(), 405u);
  EXPECT_EQ(post_only[bhttp::field::allow], "POST");
}

TEST_F(RouterTest, TrailingSlashIsIgnored) {
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/healthz/"))["route"], "healthz");
  Response res = Dispatch(bhttp::verb::get, "/api/users/u1/");
  EXPECT_EQ(Body(res)["route"], "get-user");
  EXPECT_EQ(last_.Param("id"), "u1");
  EXPECT_EQ(last_.path, "/api/users/u1");
}

TEST(Router, PatternTrailingSlashIsIgnoredToo) {
  Router router;
  router.Add(bhttp::verb::get, "/a/b/", Echo("ab"));
  Request request = MakeRequest(bhttp::verb::get, "/a/b");
  EXPECT_EQ(router.Dispatch(request).result_int(), 200u);
}

TEST_F(RouterTest, PercentDecodesPathAndCaptures) {
  Response res = Dispatch(bhttp::verb::get, "/api/users/a%20b%2Fc");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(Body(res)["route"], "get-user");  // %2F stays inside its segment
  EXPECT_EQ(last_.Param("id"), "a b/c");
  EXPECT_EQ(last_.path, "/api/users/a b/c");
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/heal%74hz"))["route"], "healthz");
  EXPECT_EQ(last_.path, "/healthz");
  // '+' is a literal in paths.
  Dispatch(bhttp::verb::get, "/api/users/a+b");
  EXPECT_EQ(last_.Param("id"), "a+b");
}

TEST_F(RouterTest, MalformedPercentEncodingIs400) {
  for (const char* target : {"/api/users/%zz", "/api/users/%4", "/api/users/%", "/healthz?a=%g0"}) {
    SCOPED_TRACE(target);
    Response res = Dispatch(bhttp::verb::get, target);
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_EQ(Body(res)["error"]["code"], "invalid_argument");
  }
}

TEST_F(RouterTest, ParsesQueryString) {
  Response res =
      Dispatch(bhttp::verb::get, "/api/users/7?limit=10&q=two+words%21&flag&&a=1&a=2&=x");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(last_.Param("id"), "7");
  EXPECT_EQ(last_.path, "/api/users/7");
  std::map<std::string, std::string> expected = {
      {"limit", "10"}, {"q", "two words!"}, {"flag", ""}, {"a", "1"}};
  EXPECT_EQ(last_.query, expected);
}

TEST_F(RouterTest, QueryDoesNotAffectMatching) {
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/healthz?x=/api/users"))["route"], "healthz");
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "/?"))["route"], "root");
}

TEST_F(RouterTest, AbsoluteFormTargetRoutesOnItsPath) {
  EXPECT_EQ(Body(Dispatch(bhttp::verb::get, "http://example.com/healthz"))["route"], "healthz");
}

TEST_F(RouterTest, RoutesListsMethodAndPattern) {
  std::vector<std::string> routes = router_.Routes();
  ASSERT_EQ(routes.size(), 7u);
  EXPECT_EQ(routes[0], "GET /healthz");
  EXPECT_EQ(routes[2], "DELETE /api/users/:id");
}

TEST(Router, HandlerExceptionsPropagate) {
  Router router;
  router.Add(bhttp::verb::get, "/boom",
             [](Request&) -> Response { throw std::runtime_error("boom"); });
  Request request = MakeRequest(bhttp::verb::get, "/boom");
  EXPECT_THROW(router.Dispatch(request), std::runtime_error);
}

// Who may call a route is decided on the head, through the one Authenticator, before a handler
// (or a body) is touched.
TEST(RouterAccess, AuthenticatesOnTheHeadAndHandsTheCallerToTheHandler) {
  Router router;
  int calls = 0;
  auto who = [&calls](Request& request) {
    ++calls;
    return JsonResponse(bhttp::status::ok, {{"user", request.caller().user_id}});
  };
  router.Add(bhttp::verb::post, "/mine", who, {Access::kUser});
  router.Add(bhttp::verb::get, "/admin", who, {Access::kAdmin});
  router.Add(bhttp::verb::get, "/chat", who, {Access::kUser, ErrorStyle::kOpenAi});
  router.SetAuthenticator([](std::string_view token) -> Result<service::Principal> {
    if (token == "user") return service::Principal{service::Role::kUser, "alice", "t1"};
    if (token == "admin") return service::Principal{service::Role::kAdmin, "", "t2"};
    return Unauthenticated("Invalid token");
  });
  auto send = [&](bhttp::verb method, const std::string& target, const std::string& token) {
    Request request = MakeRequest(method, target);
    if (!token.empty()) request.raw.set(bhttp::field::authorization, "Bearer " + token);
    return router.Dispatch(request);
  };

  Response missing = send(bhttp::verb::post, "/mine", "");
  EXPECT_EQ(missing.result_int(), 401);
  EXPECT_EQ(Body(missing)["error"]["message"], "Missing Bearer token");
  EXPECT_EQ(missing[bhttp::field::www_authenticate], "Bearer");
  EXPECT_EQ(send(bhttp::verb::post, "/mine", "nope").result_int(), 401);
  EXPECT_EQ(send(bhttp::verb::post, "/mine", "admin").result_int(), 403);
  EXPECT_EQ(send(bhttp::verb::get, "/admin", "user").result_int(), 403);
  EXPECT_EQ(calls, 0);

  Response ok = send(bhttp::verb::post, "/mine", "user");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(Body(ok)["user"], "alice");
  EXPECT_EQ(send(bhttp::verb::get, "/admin", "admin").result_int(), 200);
  EXPECT_EQ(calls, 2);

  // OpenAI-shaped errors on the routes that speak OpenAI's API.
  Response openai = send(bhttp::verb::get, "/chat", "");
  EXPECT_EQ(openai.result_int(), 401);
  EXPECT_TRUE(Body(openai)["error"].contains("param"));
  EXPECT_EQ(Body(openai)["error"]["type"], "authentication_error");
}

TEST(RouterAccess, AdmitDecidesFromTheHeadAlone) {
  Router router;
  router.Add(bhttp::verb::post, "/mine",
             [](Request&) {
               return Response{bhttp::status::ok, 11};
             },
             {Access::kUser});
  router.SetAuthenticator(
      [](std::string_view) -> Result<service::Principal> { return Unauthenticated("no"); });
  BeastRequest head{bhttp::verb::post, "/mine", 11};
  head.set(bhttp::field::content_length, "1048576");  // a body that was never read
  Request request;
  Router::Admission admission = router.Admit(request, head);
  EXPECT_EQ(admission.route, nullptr);
  ASSERT_TRUE(admission.answer);
  EXPECT_EQ(admission.answer->result_int(), 401);
  EXPECT_EQ(request.route, "/mine");
  BeastRequest unknown{bhttp::verb::post, "/elsewhere", 11};
  Router::Admission none = router.Admit(request, unknown);
  ASSERT_TRUE(none.answer);
  EXPECT_EQ(none.answer->result_int(), 404);
}

}  // namespace
}  // namespace berth::http
