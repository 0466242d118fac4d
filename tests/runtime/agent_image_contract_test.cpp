#include "runtime/agent_image_contract.hpp"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

AgentImageContract Valid() {
  AgentImageContract c;
  c.gateway_port = 18789;
  c.readiness_path = "/readyz";
  c.state_dir = "/home/node/.openclaw";
  c.config_file_name = "openclaw.json";
  c.uid = c.gid = 1000;
  c.env = {{"CHOKIDAR_USEPOLLING", "1"}};
  return c;
}

TEST(AgentImageContract, ValidOneIsAccepted) { EXPECT_TRUE(Valid().Validate().ok()); }

TEST(AgentImageContract, UnsetOrMalformedFieldsAreRefusedByName) {
  EXPECT_EQ(AgentImageContract().Validate().code(), ErrorCode::kInvalidArgument);
  auto refused = [](auto change, const std::string& field) {
    AgentImageContract c = Valid();
    change(c);
    Status st = c.Validate();
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << field;
    EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  };
  refused([](AgentImageContract& c) { c.gateway_port = 0; }, "gateway port");
  refused([](AgentImageContract& c) { c.gateway_port = 70000; }, "gateway port");
  refused([](AgentImageContract& c) { c.readiness_path = "readyz"; }, "readiness path");
  refused([](AgentImageContract& c) { c.state_dir = ""; }, "state dir");
  refused([](AgentImageContract& c) { c.config_file_name = "a/b.json"; }, "config file name");
  refused([](AgentImageContract& c) { c.env = {{"A=B", "1"}}; }, "env name");
}

}  // namespace
}  // namespace berth::runtime
