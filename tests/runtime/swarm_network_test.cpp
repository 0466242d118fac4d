// EnsureSwarmBridge against the real three-node swarm (SwarmTestCluster): the config-only
// networks on each node's engine and the swarm-scoped bridge on the manager, made once and found
// again. Everything is named with the cluster's prefix and removed by id in TearDown.
#include "runtime/swarm_network.hpp"

#include <gtest/gtest.h>

#include "runtime/swarm_net_fixture.hpp"

namespace berth::runtime {
namespace {

using SwarmNetworkTest = SwarmNetTest;

TEST_F(SwarmNetworkTest, MakesConfigOnlyNetworksOnEveryNodeThenTheSwarmBridgeOnce) {
  const std::string name = Name("agents");
  SwarmBridgeOptions options;
  options.config_labels = {{"berth.swarm-test", run_}};
  auto first = EnsureSwarmBridge(*manager_, NodeEngines(), name, true, options);
  TrackBridge(name);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->name, name);
  EXPECT_EQ(first->subnet, "10.197.0.0/20");
  EXPECT_EQ(first->gateway, "");

  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto config = nodes_[i]->InspectNetwork(SwarmBridgeConfigName(name));
    ASSERT_TRUE(config.ok()) << cluster_->nodes()[i].name << ": " << config.status().ToString();
    EXPECT_TRUE(config->config_only);
    EXPECT_EQ(config->subnet, "10.197.0.0/20");
    EXPECT_EQ(config->options.at("com.docker.network.bridge.enable_icc"), "false");
    EXPECT_EQ(config->labels.at("berth.swarm-test"), run_);
  }
  auto swarm = manager_->InspectNetwork(first->id);
  ASSERT_TRUE(swarm.ok()) << swarm.status().ToString();
  EXPECT_EQ(swarm->name, name);
  EXPECT_EQ(swarm->scope, "swarm");
  EXPECT_EQ(swarm->driver, "bridge");
  EXPECT_EQ(swarm->config_from, SwarmBridgeConfigName(name));

  // Again: the same network, nothing new on any engine.
  auto second = EnsureSwarmBridge(*manager_, NodeEngines(), name, true, options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->id, first->id);
  auto swarm_named = manager_->ListNetworksNamed(name);
  ASSERT_TRUE(swarm_named.ok());
  EXPECT_EQ(swarm_named->size(), 1u);
  for (const auto& node : nodes_) {
    auto configs = node->ListNetworksNamed(SwarmBridgeConfigName(name));
    ASSERT_TRUE(configs.ok());
    EXPECT_EQ(configs->size(), 1u);
  }

  // Asked for a network that lets agents reach each other, the existing one is refused rather
  // than quietly kept.
  auto open = EnsureSwarmBridge(*manager_, NodeEngines(), name, false, options);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), ErrorCode::kInvalidArgument) << open.status().ToString();
}

TEST_F(SwarmNetworkTest, ANodeAddedLaterGetsItsConfigAndTheBridgeIsKept) {
  const std::string name = Name("later");
  std::vector<docker::DockerClient*> engines = NodeEngines();
  const std::vector<docker::DockerClient*> first_two(engines.begin(), engines.begin() + 2);
  auto first = EnsureSwarmBridge(*manager_, first_two, name, true);
  TrackBridge(name);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto missing = nodes_[2]->ListNetworksNamed(SwarmBridgeConfigName(name));
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());

  auto all = EnsureSwarmBridge(*manager_, engines, name, true);
  TrackBridge(name);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->id, first->id);
  auto config = nodes_[2]->InspectNetwork(SwarmBridgeConfigName(name));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->config_only);
}

TEST_F(SwarmNetworkTest, RefusesANameTakenByANetworkThatIsNotConfigOnly) {
  const std::string name = Name("taken");
  docker::NetworkCreate plain;
  plain.name = SwarmBridgeConfigName(name);
  auto id = nodes_[1]->CreateNetwork(plain);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  TrackNetwork(nodes_[1].get(), *id);
  auto result = EnsureSwarmBridge(*manager_, NodeEngines(), name, true);
  TrackBridge(name);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kAlreadyExists) << result.status().ToString();
  EXPECT_NE(result.status().message().find(cluster_->nodes()[1].docker_host), std::string::npos)
      << result.status().ToString();
  auto swarm = manager_->ListNetworksNamed(name);
  ASSERT_TRUE(swarm.ok());
  EXPECT_TRUE(swarm->empty());
}

}  // namespace
}  // namespace berth::runtime
