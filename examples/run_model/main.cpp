// Example app: load an artifact, feed zeros to every input, print the outputs' shapes.
//   run_model model.dsx
#include "ds-runtime/ds_runtime.hpp"

#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s model.dsx\n", argv[0]);
    return 2;
  }
  try {
    ds::Model model(argv[1]);
    std::vector<std::vector<unsigned char>> buffers;
    std::vector<ds::TensorRef> inputs;
    for (int i = 0; i < model.numInputs(); ++i) {
      ds_value_info info = model.input(i);
      size_t count = 1;
      for (int32_t d = 0; d < info.rank; ++d)
        count *= (size_t)info.dims[d];
      buffers.emplace_back(count * ds_dtype_size(info.dtype), 0);
      inputs.push_back({info.dtype, std::vector<int64_t>(info.dims, info.dims + info.rank),
                        buffers.back().data(), buffers.back().size()});
    }
    ds::Session session(model);
    session.run(inputs);
    for (int i = 0; i < model.numOutputs(); ++i) {
      ds_tensor out = session.output(i);
      std::printf("%s: %s, rank %d, %zu bytes\n", model.output(i).name, ds_dtype_name(out.dtype),
                  out.rank, out.byte_size);
    }
  } catch (const ds::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
