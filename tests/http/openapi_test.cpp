// The OpenAPI document (src/http/openapi.json, embedded into the binary) against the routes the
// server really registers: a route added or removed without its documentation fails here.

#include "http/openapi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/api.hpp"
#include "http/public_routes.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"

namespace berth::http {
namespace {

using nlohmann::json;

// (lowercase method, OpenAPI path template), e.g. ("get", "/api/providers/{id}").
using Operation = std::pair<std::string, std::string>;

const std::set<std::string> kHttpMethods = {"get",     "put",  "post",  "delete",
                                            "options", "head", "patch", "trace"};

json Document() { return json::parse(OpenApiDocument()); }

// The router of the public listener, as `berth serve` builds it; no service is needed to register.
Router PublicRouter() {
  Router router;
  RegisterPublicRoutes(router, ApiServices{}, ChatServices{}, nullptr);
  return router;
}

// "/api/users/:id/tokens" → "/api/users/{id}/tokens".
std::string ToOpenApiPath(const std::string& pattern) {
  std::string out;
  std::size_t start = 0;
  while (start < pattern.size()) {
    std::size_t end = pattern.find('/', start + 1);
    if (end == std::string::npos) end = pattern.size();
    std::string segment = pattern.substr(start, end - start);  // with its leading '/'
    if (segment.size() > 1 && segment[1] == ':') segment = "/{" + segment.substr(2) + "}";
    out += segment;
    start = end;
  }
  return out;
}

std::set<Operation> RouterOperations(const Router& router) {
  std::set<Operation> out;
  for (const std::string& route : router.Routes()) {
    const std::size_t space = route.find(' ');
    std::string method = route.substr(0, space);
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace(method, ToOpenApiPath(route.substr(space + 1)));
  }
  return out;
}

std::set<Operation> DocumentOperations(const json& doc) {
  std::set<Operation> out;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [key, operation] : item.items()) {
      if (kHttpMethods.count(key)) out.emplace(key, path);
    }
  }
  return out;
}

// One "METHOD path" per line, for failure messages.
std::string Describe(const std::set<Operation>& operations) {
  std::string out;
  for (const auto& [method, path] : operations) {
    std::string upper = method;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    out += "  " + upper + " " + path + "\n";
  }
  return out.empty() ? "  (none)\n" : out;
}

std::set<Operation> Minus(const std::set<Operation>& a, const std::set<Operation>& b) {
  std::set<Operation> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

// The object a local "$ref" ("#/components/...") points at; null when it points nowhere.
json Resolve(const json& doc, const json& node) {
  if (!node.is_object() || !node.contains("$ref")) return node;
  const std::string ref = node["$ref"].get<std::string>();
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const json::json_pointer pointer(ref.substr(1));
  return doc.contains(pointer) ? doc.at(pointer) : json(nullptr);
}

// The "{name}" captures of a path template.
std::set<std::string> TemplateParameters(const std::string& path) {
  std::set<std::string> out;
  for (std::size_t open = path.find('{'); open != std::string::npos;
       open = path.find('{', open + 1)) {
    out.insert(path.substr(open + 1, path.find('}', open) - open - 1));
  }
  return out;
}

void CollectRefs(const json& node, const std::string& where, std::vector<std::string>* out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) {
        out->push_back(where + " → " + value.get<std::string>());
      } else {
        CollectRefs(value, where + "/" + key, out);
      }
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      CollectRefs(node[i], where + "/" + std::to_string(i), out);
    }
  }
}

TEST(OpenApiDocument, IsAnOpenApi30Document) {
  json doc = json::parse(OpenApiDocument(), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << "src/http/openapi.json is not valid JSON";
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.contains("openapi") && doc["openapi"].is_string());
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.0.", 0), 0u) << doc["openapi"];
  ASSERT_TRUE(doc.contains("info") && doc["info"].is_object());
  EXPECT_TRUE(doc["info"].contains("title"));
  EXPECT_TRUE(doc["info"].contains("version"));
  ASSERT_TRUE(doc.contains("paths") && doc["paths"].is_object());
  EXPECT_FALSE(doc["paths"].empty());
}

TEST(OpenApiDocument, DocumentsExactlyTheRoutesOfThePublicListener) {
  const std::set<Operation> routed = RouterOperations(PublicRouter());
  const std::set<Operation> documented = DocumentOperations(Document());
  ASSERT_FALSE(routed.empty());
  const std::set<Operation> undocumented = Minus(routed, documented);
  const std::set<Operation> unrouted = Minus(documented, routed);
  EXPECT_TRUE(undocumented.empty() && unrouted.empty())
      << "routes the server has that src/http/openapi.json does not document:\n"
      << Describe(undocumented)
      << "operations src/http/openapi.json documents that the server does not route:\n"
      << Describe(unrouted);
}

TEST(OpenApiDocument, DocumentsEveryRouteOfTheInternalListener) {
  Router internal;
  RegisterInternalRoutes(internal, ApiServices{});
  const std::set<Operation> routed = RouterOperations(internal);
  ASSERT_FALSE(routed.empty());
  const std::set<Operation> undocumented = Minus(routed, DocumentOperations(Document()));
  EXPECT_TRUE(undocumented.empty()) << "internal routes src/http/openapi.json does not document:\n"
                                    << Describe(undocumented);
}

TEST(OpenApiDocument, DeclaresEveryPathParameter) {
  const json doc = Document();
  for (const auto& [path, item] : doc.at("paths").items()) {
    const std::set<std::string> captured = TemplateParameters(path);
    for (const auto& [method, operation] : item.items()) {
      if (!kHttpMethods.count(method)) continue;
      std::set<std::string> declared;
      for (const json* list : {&item, &operation}) {
        if (!list->contains("parameters")) continue;
        for (const json& entry : list->at("parameters")) {
          const json parameter = Resolve(doc, entry);
          ASSERT_TRUE(parameter.is_object()) << method << " " << path << ": " << entry;
          if (parameter.value("in", "") != "path") continue;
          EXPECT_TRUE(parameter.value("required", false))
              << method << " " << path << ": path parameter " << parameter["name"]
              << " must be required";
          declared.insert(parameter.at("name").get<std::string>());
        }
      }
      EXPECT_EQ(declared, captured) << method << " " << path;
    }
  }
}

TEST(OpenApiDocument, EveryOperationHasResponsesAndAUniqueOperationId) {
  const json doc = Document();
  std::map<std::string, std::string> seen;  // operationId → where
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (!kHttpMethods.count(method)) continue;
      const std::string where = method + " " + path;
      ASSERT_TRUE(operation.contains("responses")) << where;
      EXPECT_FALSE(operation["responses"].empty()) << where;
      ASSERT_TRUE(operation.contains("operationId") && operation["operationId"].is_string())
          << where;
      const std::string id = operation["operationId"].get<std::string>();
      EXPECT_FALSE(id.empty()) << where;
      auto [it, inserted] = seen.emplace(id, where);
      EXPECT_TRUE(inserted) << "operationId " << id << " of " << where << " is also used by "
                            << it->second;
    }
  }
}

TEST(OpenApiDocument, EveryReferenceResolves) {
  const json doc = Document();
  std::vector<std::string> refs;
  CollectRefs(doc, "", &refs);
  ASSERT_FALSE(refs.empty());
  for (const std::string& ref : refs) {
    const std::string target = ref.substr(ref.rfind(' ') + 1);
    EXPECT_FALSE(Resolve(doc, json{{"$ref", target}}).is_null()) << ref;
  }
}

TEST(OpenApiDocument, IsServedAtApiOpenApiJson) {
  const Router router = PublicRouter();
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 1;
  Server server(options, router);
  ASSERT_TRUE(server.Listen().ok());
  std::thread serving([&server] { server.Run(); });

  berth::testing::HttpResult res =
      berth::testing::HttpRequest("GET", "127.0.0.1", server.port(), "/api/openapi.json");
  server.Stop();
  serving.join();

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers["content-type"], "application/json");
  EXPECT_EQ(res.body, OpenApiDocument());
  EXPECT_EQ(res.Json(), Document());
}

}  // namespace
}  // namespace berth::http
