//===- Npy.cpp - writing NumPy .npy files, reading tensor files ----------===//
//
// The reader is ds/TensorFiles/NpyReader.h (shared with the compiler); here
// are what only the tools need: writing results, taking a file's storage
// type for bf16 / float8 / sub-byte inputs, and choosing the reader by name.
//
//===----------------------------------------------------------------------===//
#include "Npy.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dsrun {
namespace {
/// Creates PATH.tmp.<random> with O_EXCL (so concurrent writers never share
/// one) and mode 0666: the kernel applies the umask, as for the final file,
/// without the racy umask() read-by-setting.
int createTemp(const std::string &path, std::string &temp) {
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".tmp.%d.%u.%08x", (int)getpid(), counter++,
                  (unsigned)random());
    temp = path + suffix;
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  return -1;
}

/// Element types NumPy has no dtype for, written as their storage: bf16 and
/// float8 as raw bits, sub-byte integers one value per byte.
const NpyDescr kStorageDescrs[] = {
    {'u', 2, DS_BF16},         {'u', 1, DS_F8E4M3FN}, {'u', 1, DS_F8E5M2},
    {'u', 1, DS_F8E4M3FNUZ},   {'u', 1, DS_F8E5M2FNUZ}, {'i', 1, DS_I4},
    {'u', 1, DS_U4},           {'i', 1, DS_I2},       {'u', 1, DS_U2},
};

} // namespace

bool adoptStorageDtype(HostTensor &t, ds_dtype want, std::string &error) {
  const NpyDescr *entry = nullptr;
  for (const NpyDescr &e : kStorageDescrs)
    if (e.dtype == want)
      entry = &e;
  if (!entry || t.dtype == want)
    return true;
  const NpyDescr *have = npyDescrOf(t.dtype);
  if (!have || have->kind != entry->kind || have->size != entry->size)
    return true; // not the storage of `want`: the runtime names the mismatch
  // Sub-byte integers: every value must fit the type's bits.
  int bits = want == DS_I4 || want == DS_U4 ? 4 : want == DS_I2 || want == DS_U2 ? 2 : 0;
  if (bits) {
    bool isSigned = want == DS_I4 || want == DS_I2;
    int lo = isSigned ? -(1 << (bits - 1)) : 0, hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    for (unsigned char byte : t.data) {
      int v = isSigned ? (int)(signed char)byte : (int)byte;
      if (v < lo || v > hi)
        return (error = "value " + std::to_string(v) + " does not fit " + ds_dtype_name(want),
                false);
    }
  }
  t.dtype = want;
  return true;
}

bool writeNpy(const std::string &path, const ds_tensor &t, std::string &error) {
  const NpyDescr *entry = npyDescrOf(t.dtype);
  for (const NpyDescr &e : kStorageDescrs)
    if (e.dtype == t.dtype)
      entry = &e;
  if (!entry)
    return (error = std::string("cannot write dtype ") + ds_dtype_name(t.dtype) + " as .npy",
            false);
  std::vector<int64_t> dims(t.dims, t.dims + t.rank);
  std::string descr = std::string(entry->size == 1 ? "|" : "<") + entry->kind +
                      std::to_string(entry->size);
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + npyShapeText(dims) + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff)
    return (error = "cannot write '" + path + "': rank too large for a .npy header", false);

  // Written under a temporary name and renamed: a reader never sees half a
  // file, and a failed write leaves any earlier file in place.
  std::string temp;
  int fd = createTemp(path, temp);
  if (fd < 0)
    return (error = "cannot write '" + path + "': " + std::strerror(errno), false);
  std::string prefix = std::string("\x93NUMPY\x01\x00", 8);
  prefix.push_back((char)(header.size() & 0xff));
  prefix.push_back((char)(header.size() >> 8));
  prefix += header;
  auto writeAll = [&](const void *data, size_t n) {
    const char *p = (const char *)data;
    while (n) {
      ssize_t k = ::write(fd, p, n);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return false;
      p += k;
      n -= (size_t)k;
    }
    return true;
  };
  bool ok = writeAll(prefix.data(), prefix.size()) && writeAll(t.data, t.byte_size);
  int why = ok ? 0 : (errno ? errno : EIO);
  if (::close(fd) != 0 && ok)
    ok = false, why = errno;
  if (ok && std::rename(temp.c_str(), path.c_str()) != 0)
    ok = false, why = errno;
  if (ok)
    return true;
  unlink(temp.c_str());
  error = "write to '" + path + "' failed: " + std::strerror(why);
  return false;
}

bool readTensorFile(const std::string &path, HostTensor &out, std::string &error) {
  bool npy = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  return npy ? readNpy(path, out, error) : readTensorProto(path, out, error);
}

} // namespace dsrun
