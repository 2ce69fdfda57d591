//===- InputFuzzer.cpp - libFuzzer target: the runtime's input validation --===//
//
// Runs the artifacts in $DS_FUZZ_ARTIFACTS (a directory of .dsx files) through
// the C API with input descriptors decoded from the fuzzer's bytes: any count,
// dtype, rank, dims and byte size, null pointers included, and data bytes taken
// from the input. Whatever passes validation runs, so kernels meet arbitrary
// values (out-of-range gather indices, NaNs, ...).
//
//===----------------------------------------------------------------------===//
#include "ds-runtime/ds_runtime.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

namespace {

struct Loaded {
  ds_model *model = nullptr;
  ds_session *session = nullptr;
};

std::vector<Loaded> &artifacts() {
  static std::vector<Loaded> all;
  return all;
}

/// Reads little pieces off the fuzzer's bytes; zeros once they run out.
struct Reader {
  const uint8_t *data;
  size_t size;
  template <typename T> T take() {
    T value{};
    size_t n = size < sizeof(T) ? size : sizeof(T);
    std::memcpy(&value, data, n);
    data += n;
    size -= n;
    return value;
  }
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *dir = std::getenv("DS_FUZZ_ARTIFACTS");
  if (!dir)
    return 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  std::vector<std::string> paths;
  while (dirent *entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".dsx") == 0)
      paths.push_back(std::string(dir) + "/" + name);
  }
  closedir(d);
  std::sort(paths.begin(), paths.end());
  // Registered after artifacts()' first use, so it runs before the vector's destructor.
  artifacts().reserve(paths.size());
  std::atexit([] {
    for (Loaded &loaded : artifacts()) {
      ds_session_release(loaded.session);
      ds_model_release(loaded.model);
    }
  });
  for (const std::string &path : paths) {
    Loaded loaded;
    ds_status s = ds_model_load(path.c_str(), &loaded.model);
    if (s) {
      ds_status_release(s);
      continue;
    }
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = 1;
    if ((s = ds_session_create(loaded.model, &options, &loaded.session))) {
      ds_status_release(s);
      ds_model_release(loaded.model);
      continue;
    }
    artifacts().push_back(loaded);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (artifacts().empty())
    __builtin_trap(); // DS_FUZZ_ARTIFACTS must name a directory of artifacts
  Reader in{data, size};
  const Loaded &target = artifacts()[in.take<uint8_t>() % artifacts().size()];
  int32_t declared = ds_model_num_inputs(target.model);
  // Mostly the declared count, sometimes another one.
  int32_t count = declared + (int32_t)(in.take<uint8_t>() % 8) - 4;
  if (in.take<uint8_t>() & 1)
    count = declared;
  if (count < 0)
    count = 0;
  bool nullArray = in.take<uint8_t>() == 0xff;
  std::vector<ds_tensor> tensors(count);
  std::vector<std::vector<int64_t>> dims(count);
  std::vector<std::vector<unsigned char>> buffers(count);
  for (int32_t i = 0; i < count; ++i) {
    ds_value_info info{};
    bool declaredInput = i < declared;
    if (declaredInput) {
      ds_status s = ds_model_input_info(target.model, i, &info);
      if (s)
        __builtin_trap(); // index is in range, so this must succeed
    }
    uint8_t flags = in.take<uint8_t>();
    ds_tensor &t = tensors[i];
    // Any integer may arrive in the dtype field from C; store it as such.
    int32_t dtype = declaredInput && !(flags & 1) ? (int32_t)info.dtype : in.take<int32_t>();
    std::memcpy(&t.dtype, &dtype, sizeof dtype);
    t.rank = declaredInput && !(flags & 2) ? info.rank : (int32_t)(in.take<int8_t>());
    int32_t storedRank = t.rank > 0 && t.rank <= 16 ? t.rank : 0;
    dims[i].resize(storedRank);
    for (int32_t d = 0; d < storedRank; ++d)
      dims[i][d] = declaredInput && d < info.rank && !(flags & 4) ? info.dims[d]
                                                                  : in.take<int64_t>() % 64;
    t.dims = (flags & 8) ? nullptr : dims[i].data();
    size_t bytes = dtype >= DS_F32 && dtype <= DS_U2 ? ds_dtype_size((ds_dtype)dtype) : 4;
    for (int64_t d : dims[i])
      bytes = d > 0 && bytes < (1u << 24) ? bytes * (size_t)d : bytes;
    if (bytes > (16u << 20))
      bytes = 16u << 20;
    if (flags & 16)
      bytes = in.take<uint16_t>();
    buffers[i].assign(bytes, 0);
    for (size_t b = 0; b < bytes && in.size; ++b)
      buffers[i][b] = in.take<uint8_t>();
    t.byte_size = bytes;
    t.data = (flags & 32) ? nullptr : buffers[i].data();
  }
  ds_status s = ds_session_run(target.session, nullArray ? nullptr : tensors.data(), count);
  if (!s) {
    for (int32_t o = 0; o < ds_model_num_outputs(target.model); ++o) {
      ds_tensor out;
      if (ds_status e = ds_session_output(target.session, o, &out))
        __builtin_trap(); // a successful run has every output
    }
  }
  ds_status_release(s);
  return 0;
}
