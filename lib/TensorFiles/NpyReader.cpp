//===- NpyReader.cpp - reading NumPy .npy files ---------------------------===//
//
// The reader treats the file as untrusted: the header is parsed as the small
// Python dict literal the format defines, nothing else; every size is checked
// against the file's real length before anything is allocated.
//
//===----------------------------------------------------------------------===//
#include "ds/TensorFiles/NpyReader.h"
#include "ds/TensorFiles/InputFile.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace dsrun {
namespace {
constexpr uint32_t kMaxHeaderBytes = 1u << 16;
constexpr size_t kMaxRank = 64; // NumPy's own limit

const NpyDescr kDescrs[] = {
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
        const uint64_t digit = (uint64_t)(s[pos++] - '0');
        if (value > ((uint64_t)INT64_MAX - digit) / 10) // before it could wrap
          return (why = "a dim of 'shape' does not fit in 64 bits", false);
        value = value * 10 + digit;
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

} // namespace

const NpyDescr *npyDescrOf(ds_dtype dtype) {
  for (const NpyDescr &e : kDescrs)
    if (e.dtype == dtype)
      return &e;
  return nullptr;
}

std::string npyShapeText(const std::vector<int64_t> &dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

bool readNpy(const std::string &path, HostTensor &out, std::string &error,
             uint64_t maxElements) {
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
  const NpyDescr *entry = nullptr;
  if (descr.size() >= 3 && std::strchr("<>|=", descr[0]))
    for (const NpyDescr &e : kDescrs)
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
      return fail("shape " + npyShapeText(dims) + " overflows");
    count *= (uint64_t)d;
  }
  if (count > maxElements)
    return fail("shape " + npyShapeText(dims) + " holds " + std::to_string(count) +
                " elements, more than the " + std::to_string(maxElements) + " allowed here");
  uint64_t available = fileSize - dataStart;
  if (count > available / entry->size || count * entry->size != available)
    return fail("shape " + npyShapeText(dims) + " of '" + descr + "' needs " +
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

} // namespace dsrun
