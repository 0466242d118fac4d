// A settings file (--config / BERTH_CONFIG) through the loader: the input is written to a file and
// loaded; its NAME=VALUE lines are also given as environment values, which reach every value
// parser without the file syntax in the way. Errors are expected; a crash, UB or leak is not.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/logging.hpp"
#include "config/settings.hpp"

namespace {

// One file per process, removed when libFuzzer exits. On tmpfs when there is one: truncating a
// file on ext4 waits for its journal, which made this target run at ~300 executions a second.
std::string TempDir() { return ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; }

struct TempFile {
  TempFile() : path(TempDir() + "/berth-settings-fuzz-" + std::to_string(::getpid()) + ".conf") {}
  ~TempFile() { std::remove(path.c_str()); }
  const std::string path;
};

const std::string& FilePath() {
  static const TempFile file;
  return file.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (std::FILE* f = std::fopen(FilePath().c_str(), "wb")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    (void)berth::config::LoadSettings({}, {}, FilePath());
  }

  std::map<std::string, std::string> env;
  std::string_view rest = text;
  while (!rest.empty() && env.size() < 64) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  (void)berth::config::LoadSettings({}, env, std::nullopt);
  std::string host;
  unsigned short port = 0;
  (void)berth::config::ParseListen(std::string(text.substr(0, 256)), &host, &port);
  return 0;
}
