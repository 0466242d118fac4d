// The agent image contract berth hands the lifecycle agrees with what the images are built with.
#include "image/agent_contract.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "agentconfig/openclaw_config.hpp"
#include "image/image_builder.hpp"

namespace berth::image {
namespace {

TEST(AgentContract, IsTheOpenClawGatewaysAndValid) {
  const runtime::AgentImageContract c = AgentContract();
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_EQ(c.gateway_port, agentconfig::kGatewayPort);  // the port openclaw.json names
  EXPECT_EQ(c.readiness_path, "/readyz");
  EXPECT_EQ(c.state_dir, "/home/node/.openclaw");
  EXPECT_EQ(c.config_file_name, "openclaw.json");
  EXPECT_EQ(c.uid, 1000);
  EXPECT_EQ(c.gid, 1000);
}

TEST(AgentContract, ItsEnvIsBakedIntoTheOpenClawImageToo) {
  const auto changes = ImageChanges(ImageKind::kOpenClaw, "digest", {});
  for (const auto& [name, value] : AgentContract().env) {
    const std::string change = "ENV " + name + "=" + value;
    EXPECT_NE(std::find(changes.begin(), changes.end(), change), changes.end()) << change;
  }
}

}  // namespace
}  // namespace berth::image
