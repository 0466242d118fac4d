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

// Found by fuzz/docker_json_fuzz.cpp: numbers and times no engine sends must read as empty, not
// overflow (undefined behaviour under UBSan).
TEST(DockerJson, OutOfRangeNumbersReadAsZero) {
  auto event = EventFromJsonLine(
      R"({"Type":"container","Action":"die","Actor":{"ID":"c1"},"timeNano":1.7e95})");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->time_nano, 0);
  event = EventFromJsonLine(R"({"Type":"container","Action":"die","time":9223372036854775807})");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->time_nano, 0);
  event = EventFromJsonLine(R"({"Type":"container","Action":"die","time":-1e300})");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->time_nano, 0);

  ContainerDetails c =
      ContainerFromJson(json::parse(R"({"State":{"ExitCode":1e300,"Pid":-1e300}})"));
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.pid, 0);

  EXPECT_FALSE(ParseDockerTime("9999-12-31T23:59:59Z").has_value());
  EXPECT_FALSE(ParseDockerTime("2262-04-12T00:00:00Z").has_value());
  EXPECT_TRUE(ParseDockerTime("2262-04-10T00:00:00Z").has_value());

  EXPECT_GT(CompareApiVersions("1.99999999999999999999999999", "1.44"), 0);
  EXPECT_EQ(CompareApiVersions("99999999999999999999999.1", "99999999999999999999999.1"), 0);
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

TEST(DockerJson, StaleSwarmUpdateIsAborted) {
  Status stale =
      EngineError(500, R"({"message":"rpc error: code = Unknown desc = update out of sequence"})",
                  "update service s1");
  EXPECT_EQ(stale.code(), ErrorCode::kAborted);
  EXPECT_EQ(stale.message(),
            "update service s1: rpc error: code = Unknown desc = update out of sequence");
}

TEST(DockerJson, SwarmInfoAndNodes) {
  const SystemInfo info = SystemInfoFromJson(json::parse(R"({
    "ID": "E1", "Name": "n0", "ServerVersion": "20.10.24", "NCPU": 2, "MemTotal": 1024,
    "Swarm": {"NodeID": "N0", "NodeAddr": "10.1.1.2", "LocalNodeState": "active",
              "ControlAvailable": true, "Error": "", "Nodes": 3, "Managers": 1,
              "Cluster": {"ID": "C1"}}})"));
  EXPECT_EQ(info.name, "n0");
  EXPECT_EQ(info.ncpu, 2);
  EXPECT_EQ(info.mem_total, 1024);
  EXPECT_TRUE(info.swarm.control_available);
  EXPECT_EQ(info.swarm.local_node_state, "active");
  EXPECT_EQ(info.swarm.node_addr, "10.1.1.2");
  EXPECT_EQ(info.swarm.cluster_id, "C1");
  EXPECT_EQ(info.swarm.nodes, 3);
  const SystemInfo plain = SystemInfoFromJson(json::parse(
      R"({"Swarm": {"NodeID": "", "LocalNodeState": "inactive", "ControlAvailable": false}})"));
  EXPECT_FALSE(plain.swarm.control_available);
  EXPECT_EQ(plain.swarm.local_node_state, "inactive");

  const SwarmNode node = NodeFromJson(json::parse(R"({
    "ID": "N1", "Version": {"Index": 42},
    "Spec": {"Availability": "drain", "Role": "worker", "Labels": {"zone": "a"}},
    "Description": {"Hostname": "n1", "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 4096},
                    "Engine": {"EngineVersion": "20.10.24"}},
    "Status": {"State": "down", "Message": "heartbeat failure", "Addr": "10.1.1.3"}})"));
  EXPECT_EQ(node.id, "N1");
  EXPECT_EQ(node.version, 42u);
  EXPECT_EQ(node.availability, "drain");
  EXPECT_EQ(node.hostname, "n1");
  EXPECT_EQ(node.addr, "10.1.1.3");
  EXPECT_EQ(node.state, "down");
  EXPECT_EQ(node.message, "heartbeat failure");
  EXPECT_EQ(node.nano_cpus, 2000000000);
  EXPECT_EQ(node.memory_bytes, 4096);
  EXPECT_EQ(node.labels.at("zone"), "a");
  EXPECT_FALSE(node.leader);
}

TEST(DockerJson, ServiceSpecRoundTrip) {
  ServiceSpec spec;
  spec.name = "mosaic-user-u1";
  spec.labels = {{"berth.instance", "i1"}};
  spec.image = "reg:5000/berth/agent@sha256:abc";
  spec.env = {"A=1"};
  spec.container_labels = {{"c", "2"}};
  spec.mounts = {MountSpec{
      "volume", "mosaic-user-u1-state", "/home/node/.openclaw", false, {{"berth.instance", "i1"}}}};
  spec.init = true;
  spec.cap_drop = {"ALL"};
  spec.stop_grace_period = std::chrono::seconds(10);
  spec.memory_limit = 2048;
  spec.memory_reservation = 1536;
  spec.nano_cpus_limit = 1000000000;
  spec.pids_limit = 512;
  spec.constraints = {"node.id==N1"};
  spec.networks = {"net1"};
  spec.replicas = 0;
  spec.ports = {ServicePort{"tcp", 18789, 0, "host"}};
  const json j = ServiceSpecToJson(spec);
  EXPECT_EQ(j["Mode"]["Replicated"]["Replicas"], 0);
  EXPECT_EQ(j["TaskTemplate"]["ContainerSpec"]["Init"], true);
  EXPECT_EQ(j["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"], 10000000000);
  EXPECT_EQ(j["TaskTemplate"]["Resources"]["Reservations"]["MemoryBytes"], 1536);
  EXPECT_EQ(j["TaskTemplate"]["Resources"]["Limits"]["Pids"], 512);
  EXPECT_EQ(j["TaskTemplate"]["RestartPolicy"]["Condition"], "none");
  EXPECT_EQ(j["TaskTemplate"]["Networks"][0]["Target"], "net1");
  EXPECT_EQ(j["EndpointSpec"]["Mode"], "dnsrr");
  EXPECT_FALSE(j["EndpointSpec"]["Ports"][0].contains("PublishedPort")) << "the node picks it";
  EXPECT_EQ(j["EndpointSpec"]["Ports"][0]["PublishMode"], "host");

  const ServiceSpec back = ServiceSpecFromJson(j);
  EXPECT_EQ(back.name, spec.name);
  EXPECT_EQ(back.image, spec.image);
  EXPECT_EQ(back.env, spec.env);
  EXPECT_EQ(back.container_labels, spec.container_labels);
  ASSERT_EQ(back.mounts.size(), 1u);
  EXPECT_EQ(back.mounts[0].volume_labels, spec.mounts[0].volume_labels);
  EXPECT_EQ(back.stop_grace_period, spec.stop_grace_period);
  EXPECT_EQ(back.memory_reservation, 1536);
  EXPECT_EQ(back.constraints, spec.constraints);
  EXPECT_EQ(back.networks, spec.networks);
  EXPECT_EQ(back.ports, spec.ports);
  EXPECT_EQ(back.replicas, 0u);
}

TEST(DockerJson, ServiceWithStatusAndTaskPortsOnce) {
  const ServiceDetails s = ServiceFromJson(json::parse(R"({
    "ID": "S1", "Version": {"Index": 7}, "CreatedAt": "2026-12-05T21:14:53.8Z",
    "Spec": {"Name": "x", "Mode": {"Replicated": {"Replicas": 1}}, "Extra": {"Kept": true}},
    "ServiceStatus": {"RunningTasks": 1, "DesiredTasks": 1}})"));
  EXPECT_EQ(s.version, 7u);
  EXPECT_EQ(s.spec.replicas, 1u);
  EXPECT_EQ(s.running_tasks, 1u);
  EXPECT_EQ(s.desired_tasks, 1u);
  EXPECT_TRUE(s.created_at.has_value());
  EXPECT_NE(s.spec_json.find("\"Kept\":true"), std::string::npos) << "the whole spec is kept";
  EXPECT_FALSE(ServiceFromJson(json::parse(R"({"ID": "S2"})")).running_tasks.has_value());

  const SwarmTask t = TaskFromJson(json::parse(R"({
    "ID": "T1", "ServiceID": "S1", "NodeID": "N1", "Slot": 1, "DesiredState": "running",
    "Spec": {"Resources": {"Limits": {"MemoryBytes": 1}, "Reservations": {"MemoryBytes": 268435456}}},
    "Status": {"State": "running", "Message": "started", "Err": "",
               "Timestamp": "2026-12-05T21:14:53.866323556Z",
               "ContainerStatus": {"ContainerID": "C1", "PID": 5, "ExitCode": 0},
               "PortStatus": {"Ports": [
                 {"Protocol": "tcp", "TargetPort": 18789, "PublishedPort": 32768, "PublishMode": "host"},
                 {"Protocol": "tcp", "TargetPort": 18789, "PublishedPort": 32768, "PublishMode": "host"}]}}})"));
  EXPECT_EQ(t.node_id, "N1");
  EXPECT_EQ(t.state, "running");
  EXPECT_EQ(t.container_id, "C1");
  EXPECT_EQ(t.memory_reservation, 268435456);
  ASSERT_EQ(t.ports.size(), 1u);
  EXPECT_EQ(t.ports[0].published_port, 32768);
  EXPECT_TRUE(t.timestamp.has_value());
  const SwarmTask rejected = TaskFromJson(json::parse(R"({"ID": "T2", "DesiredState": "shutdown",
    "Status": {"State": "rejected", "Err": "No such image: x"}})"));
  EXPECT_EQ(rejected.error, "No such image: x");
  EXPECT_TRUE(rejected.ports.empty());
  EXPECT_TRUE(rejected.node_id.empty());
  EXPECT_EQ(rejected.memory_reservation, 0);
}

TEST(DockerJson, ConfigOnlyAndSwarmScopedNetworks) {
  NetworkCreate config;
  config.name = "agents-cfg";
  config.config_only = true;
  config.subnet = "10.197.0.0/24";
  config.options = {{"com.docker.network.bridge.enable_icc", "false"}};
  const json c = NetworkCreateToJson(config);
  EXPECT_EQ(c["ConfigOnly"], true);
  EXPECT_EQ(c["IPAM"]["Config"][0]["Subnet"], "10.197.0.0/24");
  EXPECT_FALSE(c.contains("Scope"));
  NetworkCreate swarm;
  swarm.name = "agents";
  swarm.scope = "swarm";
  swarm.config_from = "agents-cfg";
  const json n = NetworkCreateToJson(swarm);
  EXPECT_EQ(n["Scope"], "swarm");
  EXPECT_EQ(n["ConfigFrom"]["Network"], "agents-cfg");
  EXPECT_FALSE(n.contains("IPAM"));
  EXPECT_FALSE(n.contains("ConfigOnly"));

  const NetworkDetails details = NetworkFromJson(json::parse(R"({"Id": "X", "Name": "agents",
    "Driver": "bridge", "Scope": "swarm", "ConfigOnly": false, "ConfigFrom": {"Network": "agents-cfg"}})"));
  EXPECT_EQ(details.scope, "swarm");
  EXPECT_EQ(details.config_from, "agents-cfg");
  EXPECT_FALSE(details.config_only);
}

}  // namespace
}  // namespace berth::docker
