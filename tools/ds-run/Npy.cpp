//===- Npy.cpp - reading and writing NumPy .npy files ---------------------===//
#include "Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace dsrun {
namespace {
struct DescrEntry {
  const char *descr;
  ds_dtype dtype;
};
const DescrEntry kDescrs[] = {
    {"<f4", DS_F32}, {"<f8", DS_F64}, {"<f2", DS_F16}, {"<i8", DS_I64}, {"<i4", DS_I32},
    {"<i2", DS_I16}, {"|i1", DS_I8},  {"<u8", DS_U64}, {"<u4", DS_U32}, {"<u2", DS_U16},
    {"|u1", DS_U8},  {"|b1", DS_BOOL},
};

/// The quoted value after `key` in the header dict.
std::string field(const std::string &header, const std::string &key) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    return {};
  size_t colon = header.find(':', k);
  size_t start = header.find_first_not_of(" ", colon + 1);
  if (start == std::string::npos)
    return {};
  if (header[start] == '\'') {
    size_t end = header.find('\'', start + 1);
    return header.substr(start + 1, end - start - 1);
  }
  if (header[start] == '(') {
    size_t end = header.find(')', start);
    return header.substr(start, end - start + 1);
  }
  size_t end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}
} // namespace

bool readNpy(const std::string &path, HostTensor &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return (error = "cannot open '" + path + "'", false);
  char magic[6];
  in.read(magic, 6);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return (error = "'" + path + "' is not a .npy file", false);
  unsigned char version[2];
  in.read((char *)version, 2);
  uint32_t headerLen = 0;
  if (version[0] == 1) {
    uint16_t len16;
    in.read((char *)&len16, 2);
    headerLen = len16;
  } else {
    in.read((char *)&headerLen, 4);
  }
  if (!in || headerLen > (1u << 20))
    return (error = "'" + path + "' has a bad .npy header", false);
  std::string header(headerLen, '\0');
  in.read(header.data(), headerLen);
  std::string descr = field(header, "descr");
  if (field(header, "fortran_order") != "False")
    return (error = "'" + path + "': Fortran-ordered arrays are not supported", false);
  bool found = false;
  for (const DescrEntry &e : kDescrs)
    if (descr == e.descr) {
      out.dtype = e.dtype;
      found = true;
    }
  if (!found)
    return (error = "'" + path + "': unsupported dtype '" + descr + "'", false);
  std::string shape = field(header, "shape");
  out.dims.clear();
  std::stringstream ss(shape.size() > 2 ? shape.substr(1, shape.size() - 2) : "");
  std::string item;
  uint64_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos)
      continue;
    int64_t d = std::stoll(item);
    if (d < 0)
      return (error = "'" + path + "': negative dim", false);
    out.dims.push_back(d);
    count *= (uint64_t)d;
  }
  uint64_t bytes = count * ds_dtype_size(out.dtype);
  out.data.resize(bytes);
  in.read((char *)out.data.data(), (std::streamsize)bytes);
  if ((uint64_t)in.gcount() != bytes)
    return (error = "'" + path + "' is truncated", false);
  return true;
}

bool writeNpy(const std::string &path, const ds_tensor &t, std::string &error) {
  const char *descr = nullptr;
  for (const DescrEntry &e : kDescrs)
    if (e.dtype == t.dtype)
      descr = e.descr;
  if (!descr)
    return (error = std::string("cannot write dtype ") + ds_dtype_name(t.dtype) + " as .npy",
            false);
  std::string shape = "(";
  for (int32_t i = 0; i < t.rank; ++i)
    shape += std::to_string(t.dims[i]) + (t.rank == 1 || i + 1 < t.rank ? "," : "");
  shape += ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return (error = "cannot write '" + path + "'", false);
  uint16_t len = (uint16_t)header.size();
  out.write("\x93NUMPY\x01\x00", 8);
  out.write((const char *)&len, 2);
  out.write(header.data(), header.size());
  out.write((const char *)t.data, (std::streamsize)t.byte_size);
  return (bool)out || (error = "write to '" + path + "' failed", false);
}

} // namespace dsrun
