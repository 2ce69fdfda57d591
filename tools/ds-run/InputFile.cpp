//===- InputFile.cpp - opening ds-run's input files -----------------------===//
#include "InputFile.h"
#include "Npy.h"

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

bool readTensorFile(const std::string &path, HostTensor &out, std::string &error) {
  bool npy = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  return npy ? readNpy(path, out, error) : readTensorProto(path, out, error);
}

} // namespace dsrun
