#pragma once

// Runs the real OpenClaw CLI (scripts/openclaw, installed by scripts/install-openclaw.sh) from
// tests: offline, in a scratch HOME and state dir, each run in its own process group.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace berth::testing {

// `value[key]` when `value` is an object holding `key`, else null; never throws.
const nlohmann::json& Member(const nlohmann::json& value, const std::string& key);

struct Invocation {
  std::vector<std::string> args;  // after the wrapper
  std::string config_text;        // written to a file named by OPENCLAW_CONFIG_PATH
};

struct Outcome {
  int exit_code = -1;  // -1: did not run or was killed
  std::string out;
  std::string err;
  nlohmann::json json;  // stdout parsed; discarded value when it is not JSON

  std::string Describe() const {
    return "exit " + std::to_string(exit_code) + "\nstdout: " + out + "\nstderr: " + err;
  }
};

class OpenClawRunner {
 public:
  static constexpr std::size_t kParallel = 2;  // the machine has 2 shared cores
  static constexpr std::chrono::seconds kTimeout{120};

  // Runs every invocation through scripts/openclaw, kParallel at a time, and returns the
  // outcomes in order. A run past kTimeout is killed and reported as a test failure.
  std::vector<Outcome> RunAll(const std::vector<Invocation>& invocations);
  Outcome Run(const Invocation& invocation) { return RunAll({invocation}).front(); }

  // `openclaw config validate --json` on each config.
  std::vector<Outcome> ValidateAll(const std::vector<nlohmann::json>& configs);

  // A non-empty message when OpenClaw is not installed at the version berth was checked against
  // (`expected_version`); empty when it is.
  std::string CheckInstalled(const std::string& expected_version);

 private:
  std::filesystem::path FileFor(std::size_t index, const std::string& suffix) const;
  int Spawn(std::size_t index, const Invocation& invocation);
  void Collect(std::size_t index, int exit_code, std::vector<Outcome>& outcomes);

  TempDir dir_;
  int batch_ = 0;
};

}  // namespace berth::testing
