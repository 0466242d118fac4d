#include "cli/agent_firewall.hpp"

#include <vector>

#include "image/process.hpp"

namespace berth::cli {
namespace {

std::string ChainOf(const std::string& bridge) { return "BERTH-" + bridge; }

// iptables with -w (waits for the xtables lock others hold, e.g. dockerd's).
Result<image::ProcessResult> Iptables(std::vector<std::string> args) {
  args.insert(args.begin(), {"iptables", "-w"});
  return image::RunProcess(args);
}

Status Must(std::vector<std::string> args) {
  const std::string what = "iptables " + args.front() + " " + args[1];
  auto ran = Iptables(std::move(args));
  if (!ran.ok()) {
    return Unavailable("BERTH_AGENT_EGRESS=berth-only needs iptables: " + ran.status().message());
  }
  if (ran->exit_code != 0) {
    return Unavailable("BERTH_AGENT_EGRESS=berth-only: " + what +
                       " failed: " + image::Tail(ran->err, 3));
  }
  return Status::Ok();
}

}  // namespace

Status LockAgentNetwork(const runtime::NetworkInfo& network, uint16_t listener_port) {
  if (network.bridge.empty() || network.gateway.empty()) {
    return InvalidArgument("network " + network.name + " has no bridge or gateway to guard");
  }
  const std::string chain = ChainOf(network.bridge);
  auto created = Iptables({"-N", chain});  // fails when it exists: flushed below either way
  if (!created.ok()) {
    return Unavailable("BERTH_AGENT_EGRESS=berth-only needs iptables: " +
                       created.status().message());
  }
  BERTH_RETURN_IF_ERROR(Must({"-F", chain}));
  BERTH_RETURN_IF_ERROR(
      Must({"-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"}));
  BERTH_RETURN_IF_ERROR(Must({"-A", chain, "-d", network.gateway, "-p", "tcp", "--dport",
                              std::to_string(listener_port), "-j", "RETURN"}));
  BERTH_RETURN_IF_ERROR(Must({"-A", chain, "-j", "DROP"}));
  auto jump = Iptables({"-C", "INPUT", "-i", network.bridge, "-j", chain});
  if (jump.ok() && jump->exit_code == 0) return Status::Ok();
  return Must({"-I", "INPUT", "1", "-i", network.bridge, "-j", chain});
}

Status UnlockAgentNetwork(const std::string& bridge) {
  const std::string chain = ChainOf(bridge);
  for (;;) {  // every jump, should several have been added
    auto removed = Iptables({"-D", "INPUT", "-i", bridge, "-j", chain});
    if (!removed.ok()) return Unavailable("iptables: " + removed.status().message());
    if (removed->exit_code != 0) break;
  }
  auto flushed = Iptables({"-F", chain});
  if (!flushed.ok() || flushed->exit_code != 0) return Status::Ok();  // no such chain
  return Must({"-X", chain});
}

}  // namespace berth::cli
