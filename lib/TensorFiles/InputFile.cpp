//===- InputFile.cpp - opening untrusted input files ----------------------===//
#include "ds/TensorFiles/InputFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dsrun {

bool openInputFile(const std::string &path, InputFile &file, std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return (error = "cannot open '" + path + "': " + std::strerror(errno), false);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return (error = "'" + path + "': not a regular file", false);
  }
  file.f = ::fdopen(fd, "rb");
  if (!file.f) {
    ::close(fd);
    return (error = "cannot open '" + path + "': " + std::strerror(errno), false);
  }
  file.size = (uint64_t)st.st_size;
  return true;
}

} // namespace dsrun
