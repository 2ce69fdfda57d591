//===- ArtifactFuzzer.cpp - libFuzzer target: bytes -> artifact -> run ----===//
//
// Loads arbitrary bytes as an artifact; whatever passes validation is run once
// on zero-filled inputs, so kernels meet whatever step lists survive the loader.
//
//===----------------------------------------------------------------------===//
#include "core/Session.h"

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Patch the size and checksum fields so that mutations reach the metadata
  // validation and the kernels instead of stopping at the checksum.
  std::vector<unsigned char> bytes(data, data + size);
  if (size >= DSX_HEADER_SIZE) {
    uint64_t fileSize = size;
    uint64_t checksum = dsx_checksum(bytes.data() + DSX_HEADER_SIZE, size - DSX_HEADER_SIZE);
    std::memcpy(bytes.data() + 16, &fileSize, 8);
    std::memcpy(bytes.data() + 24, &checksum, 8);
  }
  std::unique_ptr<dsrt::Program> program;
  if (!dsrt::Program::fromBuffer(bytes.data(), bytes.size(), program))
    return 0;
  uint64_t total = 0;
  for (uint32_t id : program->inputs)
    total += program->values[id].bytes;
  if (total > (64u << 20) || program->arenaBytes > (256u << 20))
    return 0; // keep each run small
  std::vector<std::vector<unsigned char>> buffers;
  std::vector<ds_tensor> inputs;
  for (uint32_t id : program->inputs) {
    const dsrt::ValueInfo &v = program->values[id];
    buffers.emplace_back(v.bytes, 0);
    inputs.push_back({v.dtype, (int32_t)v.dims.size(), v.dims.data(), buffers.back().data(),
                      (size_t)v.bytes});
  }
  std::unique_ptr<dsrt::Session> session;
  if (dsrt::Session::create(*program, 1, session))
    (void)session->run(inputs.data(), (int32_t)inputs.size());
  return 0;
}
