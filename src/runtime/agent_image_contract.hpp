#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace berth::runtime {

// What berth relies on from an agent image, beyond the container contract's env (MOSAIC_API_URL,
// AGENT_TOKEN, AGENT_ID): where the gateway listens and answers readiness, where its state and
// config live, whose files it reads, and the env it needs to behave (ARCHITECTURE.md, "Container
// contract", "Config push"). One value, built where the images are built (image::AgentContract())
// and handed to the lifecycle, which holds no such constants of its own.
struct AgentImageContract {
  int gateway_port = 0;          // the gateway listens here inside the container
  std::string readiness_path;    // GET answers 200 once the gateway serves (no auth)
  std::string state_dir;         // the agent's named volume is mounted here
  std::string config_file_name;  // the gateway's config file, inside state_dir
  int uid = 0;                   // owner of files berth writes into state_dir (the image's user)
  int gid = 0;
  std::vector<std::pair<std::string, std::string>> env;  // added to every agent container's env

  // kInvalidArgument naming the first field that is unset or malformed.
  Status Validate() const;
};

}  // namespace berth::runtime
