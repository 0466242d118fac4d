#include "lifecycle/spec_builder.hpp"

#include <gtest/gtest.h>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/agent_labels.hpp"

namespace berth::lifecycle {
namespace {

// What BuildContainerSpec reads, with the defaults of a user's agent.
struct Inputs {
  Inputs() {
    options.image = "berth/test-agent:dev";
    options.network = "agents";
    options.contract = image::AgentContract();
    record.key = AgentKey::User("u1");
    record.id = "r1";
    record.container_name = "mosaic-user-u1";
  }
  runtime::ContainerSpec Build() const {
    return BuildContainerSpec(record, token, options, instance);
  }

  LifecycleOptions options;
  InstanceInfo instance{"instance-1", "http://172.30.0.1:3001/api", "replica-1"};
  AgentRecord record;
  std::string token = "bc_token";
};

class SpecBuilderTest : public ::testing::Test {
 protected:
  runtime::ContainerSpec Build() const { return in_.Build(); }
  Inputs in_;
  LifecycleOptions& options_ = in_.options;
  AgentRecord& record_ = in_.record;
};

TEST_F(SpecBuilderTest, SeedEnvThenTheContractsEnvInOrder) {
  const auto spec = Build();
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(spec.env, (Env{{"MOSAIC_API_URL", "http://172.30.0.1:3001/api"},
                           {"AGENT_TOKEN", "bc_token"},
                           {"AGENT_ID", "r1"},
                           {"CHOKIDAR_USEPOLLING", "1"}}));
  EXPECT_EQ(spec.name, "mosaic-user-u1");
  EXPECT_EQ(spec.volume_name, "mosaic-user-u1-state");
  EXPECT_EQ(spec.volume_target, options_.contract.state_dir);
  EXPECT_EQ(spec.network, "agents");
  EXPECT_EQ(spec.memory_bytes, options_.memory_bytes);
  EXPECT_FALSE(spec.publish_port.has_value());
}

TEST_F(SpecBuilderTest, LabelsNameInstanceKindOwnerAndRecord) {
  auto spec = Build();
  EXPECT_EQ(spec.labels.at(kLabelManaged), "true");
  EXPECT_EQ(spec.labels.at(kLabelInstance), "instance-1");
  EXPECT_EQ(spec.labels.at(kLabelKind), "user");
  EXPECT_EQ(spec.labels.at(kLabelOwner), "u1");
  EXPECT_EQ(spec.labels.at(kLabelRecord), "r1");
  // A system container is owned by its name.
  record_.key = AgentKey::System("r1");
  record_.name = "indexer";
  spec = Build();
  EXPECT_EQ(spec.labels.at(kLabelKind), "system");
  EXPECT_EQ(spec.labels.at(kLabelOwner), "indexer");
}

TEST_F(SpecBuilderTest, SpecHashIsStableAndFollowsEveryInput) {
  const std::string hash = Build().labels.at(kLabelSpec);
  EXPECT_EQ(hash.size(), 16u);
  EXPECT_EQ(Build().labels.at(kLabelSpec), hash);  // pure: same inputs, same spec
  auto differs = [&](auto change) {
    Inputs changed;
    change(changed);
    return changed.Build().labels.at(kLabelSpec) != hash;
  };
  EXPECT_TRUE(differs([](Inputs& in) { in.options.image = "berth/test-agent:newer"; }));
  EXPECT_TRUE(differs([](Inputs& in) { in.options.memory_bytes = 1 << 30; }));
  EXPECT_TRUE(differs([](Inputs& in) { in.instance.api_url = "http://other/api"; }));
  EXPECT_TRUE(differs([](Inputs& in) { in.options.contract.env.clear(); }));
  EXPECT_TRUE(differs([](Inputs& in) { in.options.address_mode = AddressMode::kPublished; }));
  EXPECT_TRUE(differs([](Inputs& in) { in.token = "bc_other"; }));
  EXPECT_FALSE(differs([](Inputs&) {}));
}

TEST_F(SpecBuilderTest, PublishedModePublishesTheContractsGatewayPort) {
  options_.address_mode = AddressMode::kPublished;
  EXPECT_EQ(Build().publish_port, std::optional<int>(options_.contract.gateway_port));
}

TEST(EndpointOf, FollowsTheAddressingMode) {
  runtime::ContainerInfo info;
  info.id = "cid";
  info.ip_address = "10.0.0.7";
  auto ip = EndpointOf(info, "mosaic-user-u1", "r1", "tok", AddressMode::kContainerIp, 18789);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->host, "10.0.0.7");
  EXPECT_EQ(ip->port, 18789);
  EXPECT_EQ(ip->container_id, "cid");
  EXPECT_EQ(ip->record_id, "r1");
  EXPECT_EQ(ip->token, "tok");
  auto name = EndpointOf(info, "mosaic-user-u1", "r1", "tok", AddressMode::kContainerName, 18789);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "mosaic-user-u1");
  EXPECT_EQ(EndpointOf(info, "n", "r1", "tok", AddressMode::kPublished, 18789).status().code(),
            ErrorCode::kUnavailable);  // no published port yet
  info.published_port = 49153;
  auto published = EndpointOf(info, "n", "r1", "tok", AddressMode::kPublished, 18789);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->host, "127.0.0.1");
  EXPECT_EQ(published->port, 49153);
  info.ip_address.clear();
  EXPECT_EQ(EndpointOf(info, "n", "r1", "tok", AddressMode::kContainerIp, 18789).status().code(),
            ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth::lifecycle
