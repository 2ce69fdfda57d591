//===- CompileModel.cpp - compiling a model with ds-compile ---------------===//
#include "CompileModel.h"

#include <cstdio>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace dsrun {

bool compileModel(const char *tool, const std::string &model,
                  const std::vector<std::string> &extraArgs, std::string &artifact) {
  std::string compiler = "ds-compile";
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len > 0) {
    std::string dir(self, (size_t)len);
    std::string beside = dir.substr(0, dir.rfind('/')) + "/ds-compile";
    if (access(beside.c_str(), X_OK) == 0)
      compiler = beside;
  }
  const char *tmpdir = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/" + tool + "-XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    std::fprintf(stderr, "%s: cannot create a temporary file in %s\n", tool, tmpl.c_str());
    return false;
  }
  close(fd);
  std::string out = tmpl + ".dsx";
  std::rename(tmpl.c_str(), out.c_str());
  std::vector<std::string> args = {compiler, model, "-o", out, "--quiet"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char *> argvList;
  for (auto &s : args)
    argvList.push_back(s.data());
  argvList.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, compiler.c_str(), nullptr, nullptr, argvList.data(), environ) != 0) {
    std::remove(out.c_str());
    std::fprintf(stderr, "%s: cannot run %s to compile the model\n", tool, compiler.c_str());
    return false;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::remove(out.c_str());
    std::fprintf(stderr, "%s: compiling %s failed\n", tool, model.c_str());
    return false;
  }
  artifact = out;
  return true;
}

} // namespace dsrun
