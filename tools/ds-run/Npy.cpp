//===- Npy.cpp - reading and writing NumPy .npy files ---------------------===//
//
// The reader treats the file as untrusted: the header is parsed as the small
// Python dict literal the format defines, nothing else; every size is checked
// against the file's real length before anything is allocated.
//
//===----------------------------------------------------------------------===//
#include "Npy.h"
#include "InputFile.h"

#include <algorithm>
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
constexpr uint32_t kMaxHeaderBytes = 1u << 16;
constexpr size_t kMaxRank = 64; // NumPy's own limit

struct DescrEntry {
  char kind;
  size_t size;
  ds_dtype dtype;
};
const DescrEntry kDescrs[] = {
    {'f', 4, DS_F32}, {'f', 8, DS_F64}, {'f', 2, DS_F16}, {'i', 8, DS_I64},
    {'i', 4, DS_I32}, {'i', 2, DS_I16}, {'i', 1, DS_I8},  {'u', 8, DS_U64},
    {'u', 4, DS_U32}, {'u', 2, DS_U16}, {'u', 1, DS_U8},  {'b', 1, DS_BOOL},
};

/// Tokens of the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : s(text) {}

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape, std::string &why) {
    bool seenDescr = false, seenOrder = false, seenShape = false;
    if (!consume('{'))
      return (why = "the header is not a dict", false);
    while (!consume('}')) {
      std::string key;
      if (!string(key))
        return (why = "expected a quoted key", false);
      if (!consume(':'))
        return (why = "expected ':' after '" + key + "'", false);
      if (key == "descr" && !seenDescr) {
        seenDescr = true;
        if (!string(descr))
          return (why = "'descr' is not a string (structured dtypes are unsupported)", false);
      } else if (key == "fortran_order" && !seenOrder) {
        seenOrder = true;
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return (why = "'fortran_order' is not True or False", false);
      } else if (key == "shape" && !seenShape) {
        seenShape = true;
        if (!tuple(shape, why))
          return false;
      } else {
        return (why = "unexpected or repeated key '" + key + "'", false);
      }
      if (!consume(',') && !peek('}'))
        return (why = "expected ',' or '}'", false);
    }
    skipSpace();
    if (pos != s.size())
      return (why = "text after the dict", false);
    if (!seenDescr || !seenOrder || !seenShape)
      return (why = "the dict needs exactly 'descr', 'fortran_order' and 'shape'", false);
    return true;
  }

private:
  const std::string &s;
  size_t pos = 0;

  void skipSpace() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n'))
      ++pos;
  }
  bool peek(char c) {
    skipSpace();
    return pos < s.size() && s[pos] == c;
  }
  bool consume(char c) {
    if (!peek(c))
      return false;
    ++pos;
    return true;
  }
  bool word(const char *w) {
    skipSpace();
    size_t n = std::strlen(w);
    if (s.compare(pos, n, w) != 0)
      return false;
    pos += n;
    return true;
  }
  bool string(std::string &out) {
    skipSpace();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"'))
      return false;
    char quote = s[pos];
    size_t end = s.find(quote, pos + 1);
    if (end == std::string::npos || s.find('\\', pos) < end)
      return false;
    out = s.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return true;
  }
  /// A tuple of non-negative integer literals: (), (5,), (2, 3).
  bool tuple(std::vector<int64_t> &dims, std::string &why) {
    dims.clear();
    if (!consume('('))
      return (why = "'shape' is not a tuple", false);
    bool comma = false;
    while (!consume(')')) {
      skipSpace();
      size_t start = pos;
      uint64_t value = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        value = value * 10 + (uint64_t)(s[pos++] - '0');
        if (value > (uint64_t)INT64_MAX)
          return (why = "a dim of 'shape' does not fit in 64 bits", false);
      }
      if (pos == start || (pos < s.size() && !std::strchr(" \t\n,)", s[pos])))
        return (why = "the dims of 'shape' must be non-negative integers", false);
      if (dims.size() == kMaxRank)
        return (why = "'shape' has more than 64 dims", false);
      dims.push_back((int64_t)value);
      comma = consume(',');
      if (!comma && !peek(')'))
        return (why = "expected ',' or ')' in 'shape'", false);
    }
    if (dims.size() == 1 && !comma)
      return (why = "'shape' is not a tuple (a 1-d shape is written '(n,)')", false);
    return true;
  }
};

/// Reorders Fortran-ordered (column-major) elements into C order.
std::vector<unsigned char> fortranToC(const std::vector<unsigned char> &f,
                                      const std::vector<int64_t> &dims, size_t width) {
  std::vector<unsigned char> c(f.size());
  size_t rank = dims.size(), count = f.size() / std::max<size_t>(width, 1);
  std::vector<int64_t> index(rank, 0), stride(rank, 1);
  for (size_t k = 1; k < rank; ++k)
    stride[k] = stride[k - 1] * dims[k - 1];
  size_t from = 0;
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(&c[i * width], &f[from * width], width);
    for (size_t k = rank; k-- > 0;) { // next C-order index
      from += stride[k];
      if (++index[k] < dims[k])
        break;
      from -= stride[k] * dims[k];
      index[k] = 0;
    }
  }
  return c;
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

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

} // namespace

bool readNpy(const std::string &path, HostTensor &out, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = "'" + path + "': " + why;
    return false;
  };
  InputFile file;
  if (!openInputFile(path, file, error))
    return false;
  uint64_t fileSize = file.size;

  unsigned char prefix[12];
  if (std::fread(prefix, 1, 8, file.f) != 8 || std::memcmp(prefix, "\x93NUMPY", 6) != 0)
    return fail("not a .npy file (bad magic)");
  unsigned major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                " is not supported (1.0, 2.0 and 3.0 are)");
  size_t lenBytes = major == 1 ? 2 : 4;
  if (std::fread(prefix + 8, 1, lenBytes, file.f) != lenBytes)
    return fail("truncated .npy header");
  uint32_t headerLen = prefix[8] | (uint32_t)prefix[9] << 8;
  if (lenBytes == 4)
    headerLen |= (uint32_t)prefix[10] << 16 | (uint32_t)prefix[11] << 24;
  uint64_t dataStart = 8 + lenBytes + (uint64_t)headerLen;
  if (headerLen > kMaxHeaderBytes || dataStart > fileSize)
    return fail("bad .npy header length " + std::to_string(headerLen) + " (file has " +
                std::to_string(fileSize) + " bytes, the limit is " +
                std::to_string(kMaxHeaderBytes) + ")");
  std::string header(headerLen, '\0');
  if (std::fread(header.data(), 1, headerLen, file.f) != headerLen)
    return fail("truncated .npy header");
  if (header.find('\0') != std::string::npos)
    return fail("the .npy header holds a NUL byte");

  std::string descr, why;
  bool fortran = false;
  std::vector<int64_t> dims;
  if (!HeaderParser(header).parse(descr, fortran, dims, why))
    return fail("bad .npy header: " + why);

  // descr: byte order, kind, size ('<f4', '>i8', '|b1').
  const DescrEntry *entry = nullptr;
  if (descr.size() >= 3 && std::strchr("<>|=", descr[0]))
    for (const DescrEntry &e : kDescrs)
      if (descr[1] == e.kind && descr.substr(2) == std::to_string(e.size))
        entry = &e;
  if (!entry)
    return fail("unsupported dtype '" + descr + "' (supported: f2 f4 f8 i1-i8 u1-u8 b1)");
  if (descr[0] == '|' && entry->size > 1)
    return fail("dtype '" + descr + "' has no byte order");
  bool swap = descr[0] == '>' && entry->size > 1;
  out.dtype = entry->dtype;

  uint64_t count = 1;
  for (int64_t d : dims) {
    if (d != 0 && count > UINT64_MAX / (uint64_t)d)
      return fail("shape " + shapeText(dims) + " overflows");
    count *= (uint64_t)d;
  }
  uint64_t available = fileSize - dataStart;
  if (count > available / entry->size || count * entry->size != available)
    return fail("shape " + shapeText(dims) + " of '" + descr + "' needs " +
                (count > UINT64_MAX / entry->size ? std::string("more than 2^64")
                                                  : std::to_string(count * entry->size)) +
                " bytes of data, the file holds " + std::to_string(available));
  out.dims = dims;
  out.data.resize((size_t)available);
  if (available && std::fread(out.data.data(), 1, (size_t)available, file.f) != available)
    return fail("read failed");
  if (swap)
    for (size_t i = 0; i < out.data.size(); i += entry->size)
      std::reverse(&out.data[i], &out.data[i] + entry->size);
  if (out.dtype == DS_BOOL) // the runtime's bools are 0 or 1
    for (unsigned char &b : out.data)
      b = b != 0;
  if (fortran && dims.size() > 1)
    out.data = fortranToC(out.data, dims, entry->size);
  return true;
}

/// Element types NumPy has no dtype for, written as their storage: bf16 and
/// float8 as raw bits, sub-byte integers one value per byte.
const DescrEntry kStorageDescrs[] = {
    {'u', 2, DS_BF16},         {'u', 1, DS_F8E4M3FN}, {'u', 1, DS_F8E5M2},
    {'u', 1, DS_F8E4M3FNUZ},   {'u', 1, DS_F8E5M2FNUZ}, {'i', 1, DS_I4},
    {'u', 1, DS_U4},           {'i', 1, DS_I2},       {'u', 1, DS_U2},
};

bool adoptStorageDtype(HostTensor &t, ds_dtype want, std::string &error) {
  const DescrEntry *entry = nullptr;
  for (const DescrEntry &e : kStorageDescrs)
    if (e.dtype == want)
      entry = &e;
  if (!entry || t.dtype == want)
    return true;
  const DescrEntry *have = nullptr;
  for (const DescrEntry &e : kDescrs)
    if (e.dtype == t.dtype)
      have = &e;
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
  const DescrEntry *entry = nullptr;
  for (const DescrEntry &e : kDescrs)
    if (e.dtype == t.dtype)
      entry = &e;
  for (const DescrEntry &e : kStorageDescrs)
    if (e.dtype == t.dtype)
      entry = &e;
  if (!entry)
    return (error = std::string("cannot write dtype ") + ds_dtype_name(t.dtype) + " as .npy",
            false);
  std::vector<int64_t> dims(t.dims, t.dims + t.rank);
  std::string descr = std::string(entry->size == 1 ? "|" : "<") + entry->kind +
                      std::to_string(entry->size);
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText(dims) + ", }";
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

} // namespace dsrun
