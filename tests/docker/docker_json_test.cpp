#include "docker/docker_json.hpp"

#include <gtest/gtest.h>

#include "docker/docker_client.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;

TEST(DockerJson, EngineErrorsMapToTypedCodes) {
  const std::string body = R"({"message":"No such container: abc"})";
  Status not_found = EngineError(404, body, "");
  EXPECT_EQ(not_found.code(), ErrorCode::kNotFound);
  EXPECT_EQ(not_found.message(), "No such container: abc");
  EXPECT_EQ(
      EngineError(409, R"({"message":"Conflict. The container name \"/x\" is already in use"})",
                  "create container x")
          .code(),
      ErrorCode::kAlreadyExists);
  Status bad = EngineError(400, R"({"message":"invalid reference format"})", "create");
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "create: invalid reference format");
  Status internal = EngineError(500, "plain text\n", "pull");
  EXPECT_EQ(internal.code(), ErrorCode::kInternal);
  EXPECT_NE(internal.message().find("500"), std::string::npos);
  EXPECT_NE(internal.message().find("plain text"), std::string::npos);
  EXPECT_EQ(EngineError(403, "{}", "").code(), ErrorCode::kInternal);
}

TEST(DockerJson, ContainerInspect) {
  const json j = json::parse(R"({
    "Id": "abc123", "Name": "/berth-x", "Image": "sha256:img",
    "Config": {"Image": "busybox:1", "Labels": {"a": "1"}, "Env": ["K=V"], "Tty": false},
    "State": {"Status": "exited", "Running": false, "OOMKilled": true, "ExitCode": 137,
              "Pid": 0, "Error": "", "StartedAt": "2026-11-24T05:33:12.5Z",
              "FinishedAt": "0001-01-01T00:00:00Z"},
    "NetworkSettings": {"Networks": {"agents": {"IPAddress": "172.30.0.5"}},
                        "Ports": {"18789/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}],
                                  "9/tcp": null}},
    "HostConfig": {"Init": true, "Memory": 1024, "MemorySwap": 1024, "NanoCpus": 500000000,
                   "PidsLimit": 64, "CapAdd": null, "CapDrop": ["ALL"],
                   "SecurityOpt": ["no-new-privileges"], "RestartPolicy": {"Name": "no"},
                   "NetworkMode": "agents"},
    "Mounts": [{"Type": "volume", "Name": "vol", "Source": "/var/lib/docker/volumes/vol/_data",
                "Destination": "/home/node/.openclaw"}]
  })");
  ContainerDetails c = ContainerFromJson(j);
  EXPECT_EQ(c.id, "abc123");
  EXPECT_EQ(c.name, "berth-x");
  EXPECT_EQ(c.image, "busybox:1");
  EXPECT_EQ(c.labels.at("a"), "1");
  EXPECT_EQ(c.status, "exited");
  EXPECT_TRUE(c.oom_killed);
  EXPECT_EQ(c.exit_code, 137);
  ASSERT_TRUE(c.started_at.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(c.started_at->time_since_epoch())
                .count(),
            1795498392500);
  EXPECT_FALSE(c.finished_at.has_value());
  EXPECT_EQ(c.network_ips.at("agents"), "172.30.0.5");
  ASSERT_EQ(c.ports.at("18789/tcp").size(), 1u);
  EXPECT_EQ(c.ports.at("18789/tcp")[0].host_port, "49153");
  EXPECT_TRUE(c.ports.at("9/tcp").empty());
  EXPECT_TRUE(c.init);
  EXPECT_EQ(c.memory_swap, 1024);
  EXPECT_EQ(c.nano_cpus, 500000000);
  EXPECT_EQ(c.pids_limit, 64);
  EXPECT_TRUE(c.cap_add.empty());
  EXPECT_EQ(c.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(c.restart_policy, "no");
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].name, "vol");
}

TEST(DockerJson, MistypedFieldsReadAsEmpty) {
  ContainerDetails c = ContainerFromJson(json::parse(R"({"Id": 5, "State": "x", "Config": []})"));
  EXPECT_EQ(c.id, "");
  EXPECT_EQ(c.status, "");
  EXPECT_FALSE(ParseJsonBody("not json", "x").ok());
}

TEST(DockerJson, EventsKeepTheVerb) {
  auto die = EventFromJsonLine(
      R"({"status":"die","id":"c1","Type":"container","Action":"die",)"
      R"("Actor":{"ID":"c1","Attributes":{"exitCode":"3","name":"n","berth.user":"u"}},)"
      R"("scope":"local","time":1700000000,"timeNano":1700000000123456789})");
  ASSERT_TRUE(die.ok());
  EXPECT_EQ(die->type, "container");
  EXPECT_EQ(die->action, "die");
  EXPECT_EQ(die->actor_id, "c1");
  EXPECT_EQ(die->attributes.at("exitCode"), "3");
  EXPECT_EQ(die->attributes.at("berth.user"), "u");
  EXPECT_EQ(die->time_nano, 1700000000123456789);

  auto health = EventFromJsonLine(
      R"({"Type":"container","Action":"health_status: healthy","Actor":{"ID":"c2"},"time":5})");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->action, "health_status");
  EXPECT_EQ(health->action_detail, "healthy");
  EXPECT_EQ(health->time_nano, 5000000000);

  auto exec = EventFromJsonLine(
      R"({"Type":"container","Action":"exec_start: sh -c echo a:b","Actor":{"ID":"c3"}})");
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ(exec->action, "exec_start");
  EXPECT_EQ(exec->action_detail, "sh -c echo a:b");

  EXPECT_FALSE(EventFromJsonLine("[1,2]").ok());
  EXPECT_FALSE(EventFromJsonLine("garbage").ok());
}

TEST(DockerJson, ContainerCreateBody) {
  ContainerCreate c;
  c.image = "img";
  c.env = {"A=1"};
  c.labels = {{"k", "v"}};
  c.mounts.push_back({"volume", "vol", "/data", false, {{"k", "v"}}});
  c.network_mode = "agents";
  c.network = "agents";
  c.memory = 100;
  c.memory_swap = 100;
  c.nano_cpus = 5;
  c.pids_limit = 7;
  c.init = true;
  c.security_opt = {"no-new-privileges"};
  c.cap_drop = {"ALL"};
  c.cap_add = {"NET_BIND_SERVICE"};
  c.port_bindings["18789/tcp"] = {{"127.0.0.1", ""}};
  json j = ContainerCreateToJson(c);
  EXPECT_EQ(j["Image"], "img");
  EXPECT_EQ(j["Labels"]["k"], "v");
  EXPECT_FALSE(j.contains("Cmd"));
  EXPECT_FALSE(j.contains("Entrypoint"));
  EXPECT_TRUE(j["ExposedPorts"].contains("18789/tcp"));
  const json& h = j["HostConfig"];
  EXPECT_EQ(h["Mounts"][0]["Type"], "volume");
  EXPECT_EQ(h["Mounts"][0]["VolumeOptions"]["Labels"]["k"], "v");
  EXPECT_EQ(h["Memory"], 100);
  EXPECT_EQ(h["MemorySwap"], 100);
  EXPECT_EQ(h["PidsLimit"], 7);
  EXPECT_EQ(h["Init"], true);
  EXPECT_EQ(h["CapDrop"][0], "ALL");
  EXPECT_EQ(h["RestartPolicy"]["Name"], "no");
  EXPECT_EQ(h["PortBindings"]["18789/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(h["PortBindings"]["18789/tcp"][0]["HostPort"], "");
  EXPECT_TRUE(j["NetworkingConfig"]["EndpointsConfig"].contains("agents"));
  // Empty label maps are objects, not null (the engine rejects null for some fields).
  EXPECT_TRUE(ContainerCreateToJson(ContainerCreate{})["Labels"].is_object());
}

TEST(DockerJson, Times) {
  using std::chrono::system_clock;
  auto t = ParseDockerTime("1970-01-01T00:00:01.000000001Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count(),
            1000000001);
  auto offset = ParseDockerTime("1970-01-01T02:00:00+02:00");
  ASSERT_TRUE(offset.has_value());
  EXPECT_EQ(offset->time_since_epoch().count(), 0);
  EXPECT_FALSE(ParseDockerTime("0001-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseDockerTime("").has_value());
  EXPECT_FALSE(ParseDockerTime("2026-11-24T05:33:12").has_value());
  EXPECT_FALSE(ParseDockerTime("2026-11-24T05:33:12.Z").has_value());
}

TEST(DockerJson, ApiVersionsCompareNumerically) {
  EXPECT_LT(CompareApiVersions("1.9", "1.41"), 0);
  EXPECT_GT(CompareApiVersions("1.43", "1.41"), 0);
  EXPECT_EQ(CompareApiVersions("1.41", "1.41"), 0);
  EXPECT_LT(CompareApiVersions("1", "1.1"), 0);
}

TEST(DockerJson, QueryEscapingAndLabelFilters) {
  EXPECT_EQ(EscapeQuery("a b&c=d/{\"x\"}"), "a%20b%26c%3Dd%2F%7B%22x%22%7D");
  EXPECT_EQ(EscapeQuery("Az09-._~"), "Az09-._~");
  EXPECT_EQ(LabelFilters({{"a", "1"}, {"b", ""}}), (std::vector<std::string>{"a=1", "b"}));
}

}  // namespace
}  // namespace berth::docker
