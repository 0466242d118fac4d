// Unit tests of the image builder's parts that need no engine: ldd parsing, the image config
// changes, and the rootfs tar (ownership, modes, the input digest).

#include <gtest/gtest.h>

#include <fstream>

#include "image/image_builder.hpp"
#include "image/ldd.hpp"
#include "image/openclaw_entrypoint.hpp"
#include "image/process.hpp"
#include "image/rootfs.hpp"
#include "support/temp_dir.hpp"

namespace berth::image {
namespace {

TEST(Ldd, ParsesLibrariesAndTheLoader) {
  const std::string out =
      "\tlinux-vdso.so.1 (0x00007ffd)\n"
      "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0d)\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f0f)\n";
  auto libs = ParseLddOutput(out);
  ASSERT_TRUE(libs.ok());
  EXPECT_EQ(*libs, (std::vector<std::string>{"/lib/x86_64-linux-gnu/libstdc++.so.6",
                                             "/lib/x86_64-linux-gnu/libc.so.6",
                                             "/lib64/ld-linux-x86-64.so.2"}));
  auto missing = ParseLddOutput("\tlibfoo.so.1 => not found\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("libfoo.so.1"), std::string::npos);
}

TEST(Ldd, RealProgramsResolve) {
  auto sh = SharedLibrariesOf("/bin/sh");
  ASSERT_TRUE(sh.ok()) << sh.status().message();
  EXPECT_FALSE(sh->empty());
  for (const auto& lib : *sh) EXPECT_EQ(lib.front(), '/') << lib;
  auto busybox = SharedLibrariesOf("/bin/busybox");  // busybox-static
  ASSERT_TRUE(busybox.ok()) << busybox.status().message();
  EXPECT_TRUE(busybox->empty());
}

TEST(ImageChanges, QuoteEnvLiterally) {
  EXPECT_EQ(*EnvChange("A=b"), "ENV A=\"b\"");
  EXPECT_EQ(*EnvChange("A=x y$HOME\"\\"), "ENV A=\"x y\\$HOME\\\"\\\\\"");
  EXPECT_EQ(*EnvChange("EMPTY="), "ENV EMPTY=\"\"");
  for (const char* bad : {"A", "=b", "1A=b", "A-B=c", "A=b\nc"}) {
    EXPECT_FALSE(EnvChange(bad).ok()) << bad;
  }
}

TEST(ImageChanges, NameUserEntrypointAndLabels) {
  auto agent = ImageChanges(ImageKind::kTestAgent, "abc", {"X=1"});
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  EXPECT_TRUE(has(agent, "USER node"));
  EXPECT_TRUE(has(agent, "WORKDIR /home/node"));
  EXPECT_TRUE(has(agent, "ENV HOME=/home/node"));
  EXPECT_TRUE(has(agent, "ENTRYPOINT [\"/usr/local/bin/berth-test-agent\"]"));
  EXPECT_TRUE(has(agent, "LABEL berth.image=test-agent"));
  EXPECT_TRUE(has(agent, "LABEL berth.image.inputs=abc"));
  EXPECT_EQ(agent.back(), "ENV X=\"1\"");  // after the image's own settings

  auto openclaw = ImageChanges(ImageKind::kOpenClaw, "def", {});
  EXPECT_TRUE(has(openclaw, "ENTRYPOINT [\"/usr/local/bin/berth-entrypoint\"]"));
  EXPECT_TRUE(has(openclaw, "LABEL berth.image=openclaw"));
  EXPECT_TRUE(has(openclaw, "ENV CHOKIDAR_USEPOLLING=1"));
}

TEST(ImageKinds, NamesAndDefaultReferences) {
  EXPECT_EQ(*ParseImageKind("openclaw"), ImageKind::kOpenClaw);
  EXPECT_EQ(*ParseImageKind("test-agent"), ImageKind::kTestAgent);
  EXPECT_FALSE(ParseImageKind("alpine").ok());
  EXPECT_EQ(DefaultReference(ImageKind::kOpenClaw), "berth/openclaw:2026.9.6");
  EXPECT_EQ(DefaultReference(ImageKind::kTestAgent).rfind("berth/test-agent:", 0), 0u);
}

TEST(OpenClawEntrypoint, RunsTheGatewayAfterTheFetch) {
  const std::string_view script = EntrypointScript();
  const auto fetch = script.find("fetch-config.mjs");
  const auto token = script.find("export OPENCLAW_GATEWAY_TOKEN=\"${OPENCLAW_GATEWAY_TOKEN:-");
  const auto exec =
      script.find("exec node /opt/openclaw/node_modules/openclaw/openclaw.mjs gateway run");
  ASSERT_NE(fetch, std::string_view::npos);
  ASSERT_NE(token, std::string_view::npos);
  ASSERT_NE(exec, std::string_view::npos);
  EXPECT_LT(fetch, token);
  EXPECT_LT(token, exec);
  EXPECT_NE(script.find("exit 78"), std::string_view::npos);
}

// `tar -tvf` lines as {name: "mode owner"}.
std::map<std::string, std::string> Listing(const std::string& tar) {
  auto run = RunProcess({"tar", "--numeric-owner", "-tvf", tar});
  EXPECT_TRUE(run.ok());
  std::map<std::string, std::string> out;
  std::istringstream lines(run.ok() ? run->out : "");
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string mode, owner, size, date, time, name;
    f >> mode >> owner >> size >> date >> time >> name;
    if (name.size() > 1 && name.back() == '/') name.pop_back();
    out[name] = mode + " " + owner;
  }
  return out;
}

TEST(Rootfs, TarOwnsTheHomeByNodeAndEverythingElseByRoot) {
  testing::TempDir dir;
  auto rootfs = Rootfs::Create(dir.path().string());
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().message();
  Rootfs& r = **rootfs;
  ASSERT_TRUE(r.MakeDir("/tmp", 01777).ok());
  ASSERT_TRUE(r.MakeDir("/home/node/.openclaw", 0700).ok());
  ASSERT_TRUE(r.WriteFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644).ok());
  ASSERT_TRUE(r.WriteFile("/home/node/.openclaw/.keep", "", 0600).ok());  // keeps the dir mode
  ASSERT_TRUE(r.CopyProgram("/bin/busybox", "/bin/busybox").ok());
  ASSERT_TRUE(r.Symlink("busybox", "/bin/sh").ok());
  // A host tree, appended under /opt/app without copying.
  const std::string host = dir.File("host");
  std::filesystem::create_directories(host + "/node_modules/pkg");
  std::filesystem::create_directories(host + "/node_modules/skip");
  std::ofstream(host + "/node_modules/pkg/index.js") << "x";
  std::filesystem::permissions(
      host + "/node_modules/pkg/index.js",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_TRUE(r.AddTree({host, "node_modules", "/opt/app", {"node_modules/skip"}}).ok());

  auto tar = r.WriteTar("/home/node");
  ASSERT_TRUE(tar.ok()) << tar.status().message();
  auto listing = Listing(*tar);
  EXPECT_EQ(listing["./tmp"], "drwxrwxrwt 0/0");
  EXPECT_EQ(listing["./home"], "drwxr-xr-x 0/0");
  EXPECT_EQ(listing["./home/node"], "drwxr-xr-x 1000/1000");
  EXPECT_EQ(listing["./home/node/.openclaw"], "drwx------ 1000/1000");
  EXPECT_EQ(listing["./home/node/.openclaw/.keep"], "-rw------- 1000/1000");
  EXPECT_EQ(listing["./etc/passwd"], "-rw-r--r-- 0/0");
  EXPECT_EQ(listing["./bin/busybox"], "-rwxr-xr-x 0/0");
  EXPECT_EQ(listing["./bin/sh"], "lrwxrwxrwx 0/0");
  EXPECT_EQ(listing["./opt/app/node_modules/pkg/index.js"], "-rw-r--r-- 0/0");  // made readable
  EXPECT_EQ(listing["./opt/app"], "drwxr-xr-x 0/0");
  EXPECT_EQ(listing.count("./opt/app/node_modules/skip"), 0u);
  EXPECT_EQ(listing.count("node_modules/pkg/index.js"), 0u);
}

TEST(Rootfs, DigestFollowsTheInputs) {
  testing::TempDir dir;
  auto digest_of = [&](const std::string& content, mode_t mode) {
    auto rootfs = Rootfs::Create(dir.path().string());
    EXPECT_TRUE(rootfs.ok());
    EXPECT_TRUE((*rootfs)->WriteFile("/etc/x", content, mode).ok());
    return (*rootfs)->DigestHex();
  };
  const std::string a = digest_of("one", 0644);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, digest_of("one", 0644));
  EXPECT_NE(a, digest_of("two", 0644));
  EXPECT_NE(a, digest_of("one", 0600));
}

TEST(Rootfs, WorkDirIsRemoved) {
  testing::TempDir dir;
  std::filesystem::path work;
  {
    auto rootfs = Rootfs::Create(dir.path().string());
    ASSERT_TRUE(rootfs.ok());
    work = (*rootfs)->work_dir();
    ASSERT_TRUE((*rootfs)->WriteFile("/etc/x", "1", 0644).ok());
    EXPECT_TRUE(std::filesystem::exists(work));
  }
  EXPECT_FALSE(std::filesystem::exists(work));
}

TEST(Process, CapturesOutputAndExitCode) {
  auto run = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->out, "out\n");
  EXPECT_EQ(run->err, "err\n");
  ProcessOptions in_tmp;
  in_tmp.cwd = "/tmp";
  in_tmp.env["BERTH_X"] = "y";
  run = RunProcess({"sh", "-c", "pwd; echo $BERTH_X"}, in_tmp);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->out, "/tmp\ny\n");
  EXPECT_EQ(RunProcess({"berth-no-such-program"}).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Tail("a\nb\nc\n", 2), "b\nc");
}

}  // namespace
}  // namespace berth::image
