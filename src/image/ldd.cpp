#include "image/ldd.hpp"

#include <sstream>

#include "image/process.hpp"

namespace berth::image {

Result<std::vector<std::string>> ParseLddOutput(const std::string& text) {
  std::vector<std::string> paths;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    std::size_t arrow = line.find(" => ");
    std::string path;
    if (arrow != std::string::npos) {
      std::string rest = line.substr(arrow + 4);
      if (rest.rfind("not found", 0) == 0) {
        return NotFound("shared library " + line.substr(0, arrow) + " not found");
      }
      path = rest.substr(0, rest.find(" ("));
    } else if (line.front() == '/') {
      path = line.substr(0, line.find(" ("));  // the loader
    }
    if (!path.empty() && path.front() == '/') paths.push_back(path);
  }
  return paths;
}

Result<std::vector<std::string>> SharedLibrariesOf(const std::string& program) {
  auto run = RunProcess({"ldd", program});
  if (!run.ok()) return run.status();
  const std::string all = run->out + run->err;
  if (all.find("not a dynamic executable") != std::string::npos ||
      all.find("statically linked") != std::string::npos) {
    return std::vector<std::string>{};
  }
  if (run->exit_code != 0) {
    return Internal("ldd " + program + " failed (exit " + std::to_string(run->exit_code) +
                    "): " + Tail(all, 5));
  }
  return ParseLddOutput(run->out);
}

}  // namespace berth::image
