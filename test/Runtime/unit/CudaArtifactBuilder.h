//===- CudaArtifactBuilder.h - format-2 artifacts built byte by byte -*- C++ -*-===//
//
// Tests of the CUDA backend build their artifacts here, without the compiler:
// a value table, steps with attributes, a target and kernel images, laid out
// as ds_artifact_format.h says.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TEST_RUNTIME_CUDAARTIFACTBUILDER_H
#define DS_TEST_RUNTIME_CUDAARTIFACTBUILDER_H

#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dstest {

struct ValueSpec {
  ds_dtype dtype = DS_F32;
  dsx_storage storage = DSX_STORAGE_ARENA;
  std::vector<int64_t> dims;
  uint64_t offset = 0;
  std::string name;
  /// The byte size to write; -1: from the dims (0 when a dim is dynamic).
  int64_t bytes = -1;
  uint16_t flags = 0; ///< dsx_value_flag (an input's default at `offset`, packed codes)
};

struct AttrSpec {
  std::string name;
  dsx_attr_tag tag = DSX_ATTR_INT;
  int64_t i = 0;
  double f = 0;
  std::vector<int64_t> ints;
  std::string s;
};
inline AttrSpec intAttr(std::string n, int64_t v) { return {std::move(n), DSX_ATTR_INT, v}; }
inline AttrSpec floatAttr(std::string n, double v) {
  AttrSpec a{std::move(n), DSX_ATTR_FLOAT};
  a.f = v;
  return a;
}
inline AttrSpec intsAttr(std::string n, std::vector<int64_t> v) {
  AttrSpec a{std::move(n), DSX_ATTR_INTS};
  a.ints = std::move(v);
  return a;
}
inline AttrSpec strAttr(std::string n, std::string v) {
  AttrSpec a{std::move(n), DSX_ATTR_STRING};
  a.s = std::move(v);
  return a;
}

struct StepSpec {
  std::string op;
  std::vector<uint32_t> inputs, outputs;
  std::vector<AttrSpec> attrs;
  int opClass = -1; ///< written in version 3; -1: the class the compiler declares for `op`
};

/// The op class the compiler declares on `op` (DS_OpClass in DSOps.td) for
/// the ops these tests build; DSX_OP_OTHER for target steps.
inline uint8_t declaredOpClass(const std::string &op) {
  static const std::pair<const char *, dsx_op_class> classes[] = {
      {"ds.unary", DSX_OP_ELEMENTWISE},     {"ds.binary", DSX_OP_ELEMENTWISE},
      {"ds.compare", DSX_OP_ELEMENTWISE},   {"ds.select", DSX_OP_ELEMENTWISE},
      {"ds.cast", DSX_OP_ELEMENTWISE},      {"ds.reduce", DSX_OP_REDUCTION},
      {"ds.softmax", DSX_OP_REDUCTION},     {"ds.norm", DSX_OP_REDUCTION},
      {"ds.pool", DSX_OP_WINDOW},           {"ds.arg_reduce", DSX_OP_WINDOW},
      {"ds.cumsum", DSX_OP_WINDOW},         {"ds.topk", DSX_OP_WINDOW},
      {"ds.matmul", DSX_OP_CONTRACTION},    {"ds.einsum", DSX_OP_CONTRACTION},
      {"ds.conv", DSX_OP_CONTRACTION},      {"ds.conv_transpose", DSX_OP_CONTRACTION},
      {"ds.attention", DSX_OP_ATTENTION},   {"ds.shape", DSX_OP_SHAPE},
      {"ds.fill", DSX_OP_GENERATOR},        {"ds.range", DSX_OP_GENERATOR},
      {"ds.quantize", DSX_OP_PRECISION},    {"ds.dequantize", DSX_OP_PRECISION},
      {"ds.dynamic_quantize", DSX_OP_PRECISION}};
  for (const auto &[name, cls] : classes)
    if (op == name)
      return cls;
  return op.rfind("ds.", 0) == 0 ? DSX_OP_DATA_MOVEMENT : DSX_OP_OTHER;
}

struct ImageSpec {
  std::string arch;
  std::string bytes;
  int64_t offsetOverride = -1; ///< to place an image out of bounds
};

/// A dim symbol of format version 3: its name and bounds (max -1: unbounded).
struct SymbolSpec {
  std::string name;
  int64_t min = 0, max = -1;
};

struct ArtifactSpec {
  uint32_t version = 2;
  std::vector<ValueSpec> values;
  std::vector<uint32_t> inputs, outputs;
  std::vector<std::string> outputNames;
  std::vector<StepSpec> steps;
  uint64_t arenaBytes = 0;
  std::string constants; ///< the bytes constant values point into (offset 0 on)
  uint32_t target = DSX_TARGET_CUDA;
  std::vector<ImageSpec> images;
  /// Version 3's dim symbols; an input dim -(k+1) names symbols[k].
  std::vector<SymbolSpec> symbols;
  /// Version 4's fusion groups.
  struct GroupSpec {
    uint32_t firstStep = 0, numSteps = 0, headSteps = 0, parallelDims = 0;
  };
  std::vector<GroupSpec> groups;
};

inline size_t elementSize(ds_dtype t) {
  return t == DS_F16 || t == DS_BF16 ? 2 : t == DS_F64 || t == DS_I64 ? 8 : 4;
}

class ByteWriter {
public:
  template <typename T> void put(T v) { data.append((const char *)&v, sizeof(T)); }
  void str(const std::string &s) {
    put<uint32_t>((uint32_t)s.size());
    data += s;
  }
  std::string data;
};

inline std::string buildArtifact(const ArtifactSpec &spec) {
  // Constants: the values' bytes, then each image at a 64-byte boundary.
  std::string constants = spec.constants;
  std::vector<uint64_t> imageOffsets;
  for (const ImageSpec &image : spec.images) {
    constants.resize((constants.size() + 63) / 64 * 64, '\0');
    imageOffsets.push_back(image.offsetOverride >= 0 ? (uint64_t)image.offsetOverride
                                                     : constants.size());
    constants += image.bytes;
  }
  ByteWriter m;
  m.put<uint32_t>((uint32_t)spec.values.size());
  for (const ValueSpec &v : spec.values) {
    m.put<uint8_t>((uint8_t)v.dtype);
    m.put<uint8_t>((uint8_t)v.storage);
    m.put<uint16_t>(v.flags);
    m.put<uint32_t>((uint32_t)v.dims.size());
    uint64_t n = 1;
    for (int64_t d : v.dims) {
      m.put<int64_t>(d);
      n *= d < 0 ? 0 : (uint64_t)d; // a dynamic value has bytes 0
    }
    m.put<uint64_t>(v.offset);
    m.put<uint64_t>(v.bytes >= 0 ? (uint64_t)v.bytes : n * elementSize(v.dtype));
    m.str(v.name);
  }
  m.put<uint64_t>(spec.arenaBytes);
  m.put<uint32_t>((uint32_t)spec.inputs.size());
  for (uint32_t id : spec.inputs)
    m.put<uint32_t>(id);
  m.put<uint32_t>((uint32_t)spec.outputs.size());
  for (uint32_t id : spec.outputs)
    m.put<uint32_t>(id);
  for (size_t i = 0; i < spec.outputs.size(); ++i)
    m.str(i < spec.outputNames.size() ? spec.outputNames[i] : "out" + std::to_string(i));
  m.put<uint32_t>((uint32_t)spec.steps.size());
  for (const StepSpec &s : spec.steps) {
    m.str(s.op);
    m.put<uint32_t>((uint32_t)s.inputs.size());
    for (uint32_t id : s.inputs)
      m.put<uint32_t>(id);
    m.put<uint32_t>((uint32_t)s.outputs.size());
    for (uint32_t id : s.outputs)
      m.put<uint32_t>(id);
    m.put<uint32_t>((uint32_t)s.attrs.size());
    for (const AttrSpec &a : s.attrs) {
      m.str(a.name);
      m.put<uint8_t>((uint8_t)a.tag);
      if (a.tag == DSX_ATTR_INT)
        m.put<int64_t>(a.i);
      else if (a.tag == DSX_ATTR_FLOAT)
        m.put<double>(a.f);
      else if (a.tag == DSX_ATTR_INTS) {
        m.put<uint32_t>((uint32_t)a.ints.size());
        for (int64_t v : a.ints)
          m.put<int64_t>(v);
      } else
        m.str(a.s);
    }
  }
  if (spec.version >= 2) {
    m.put<uint32_t>(spec.target);
    m.put<uint32_t>((uint32_t)spec.images.size());
    for (size_t i = 0; i < spec.images.size(); ++i) {
      m.str(spec.images[i].arch);
      m.put<uint64_t>(imageOffsets[i]);
      m.put<uint64_t>(spec.images[i].bytes.size());
    }
  }
  if (spec.version >= 3) {
    m.put<uint32_t>((uint32_t)spec.symbols.size());
    for (const SymbolSpec &symbol : spec.symbols) {
      m.str(symbol.name);
      m.put<int64_t>(symbol.min);
      m.put<int64_t>(symbol.max);
    }
    m.put<uint32_t>((uint32_t)spec.steps.size());
    for (const StepSpec &step : spec.steps)
      m.put<uint8_t>(step.opClass >= 0 ? (uint8_t)step.opClass : declaredOpClass(step.op));
  }
  if (spec.version >= 4) {
    m.put<uint32_t>((uint32_t)spec.groups.size());
    for (const ArtifactSpec::GroupSpec &group : spec.groups) {
      m.put<uint32_t>(group.firstStep);
      m.put<uint32_t>(group.numSteps);
      m.put<uint32_t>(group.headSteps);
      m.put<uint32_t>(group.parallelDims);
    }
  }
  uint64_t metaOffset = DSX_HEADER_SIZE;
  uint64_t constOffset = (metaOffset + m.data.size() + 63) / 64 * 64;
  std::string body = m.data;
  body.resize(constOffset - metaOffset, '\0');
  body += constants;
  ByteWriter h;
  h.data.append(DSX_MAGIC, 7);
  h.put<uint8_t>(0);
  h.put<uint32_t>(spec.version);
  h.put<uint32_t>(DSX_HEADER_SIZE);
  h.put<uint64_t>(DSX_HEADER_SIZE + body.size());
  h.put<uint64_t>(dsx_checksum((const unsigned char *)body.data(), body.size()));
  h.put<uint64_t>(metaOffset);
  h.put<uint64_t>(m.data.size());
  h.put<uint64_t>(constOffset);
  h.put<uint64_t>(constants.size());
  h.data.resize(DSX_HEADER_SIZE, '\0');
  return h.data + body;
}

/// PTX of `ds_test_add(a, b, c)`: c[t] = a[t] + b[t] for thread t (no bounds
/// check: launch exactly one thread per element). Checked with ptxas -arch=sm_80.
inline const char *addKernelPtx() {
  return ".version 7.0\n.target sm_80\n.address_size 64\n"
         ".visible .entry ds_test_add(.param .u64 pa, .param .u64 pb, .param .u64 pc)\n{\n"
         "  .reg .b32 %r<5>;\n  .reg .b64 %rd<8>;\n  .reg .f32 %f<4>;\n"
         "  ld.param.u64 %rd1, [pa];\n  ld.param.u64 %rd2, [pb];\n  ld.param.u64 %rd3, [pc];\n"
         "  mov.u32 %r1, %ctaid.x;\n  mov.u32 %r2, %ntid.x;\n  mov.u32 %r3, %tid.x;\n"
         "  mad.lo.u32 %r4, %r1, %r2, %r3;\n  mul.wide.u32 %rd4, %r4, 4;\n"
         "  add.u64 %rd5, %rd1, %rd4;\n  add.u64 %rd6, %rd2, %rd4;\n  add.u64 %rd7, %rd3, %rd4;\n"
         "  ld.global.f32 %f1, [%rd5];\n  ld.global.f32 %f2, [%rd6];\n"
         "  add.f32 %f3, %f1, %f2;\n  st.global.f32 [%rd7], %f3;\n  ret;\n}\n";
}

/// y = x + w (f32[256], w constant 0.5 * i), one cuda.launch of ds_test_add
/// (2 blocks of 128), then z = cuda.alias(y) sharing y's bytes. Images: a
/// bogus sm_90a "cubin" and the PTX, so a device of 9.0 tries the cubin first.
inline ArtifactSpec addArtifact() {
  ArtifactSpec a;
  const int64_t n = 256;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {n}, 0, "x"},
              {DS_F32, DSX_STORAGE_CONSTANT, {n}, 0, "w"},
              {DS_F32, DSX_STORAGE_ARENA, {n}, 0, "y"},
              {DS_F32, DSX_STORAGE_ARENA, {n}, 0, "z"}};
  for (int64_t i = 0; i < n; ++i) {
    float w = 0.5f * (float)i;
    a.constants.append((const char *)&w, 4);
  }
  a.arenaBytes = n * 4;
  a.inputs = {0};
  a.outputs = {3};
  a.outputNames = {"z"};
  a.steps = {{"cuda.launch",
              {0, 1},
              {2},
              {strAttr("kernel", "ds_test_add"), intsAttr("grid", {2, 1, 1}),
               intsAttr("block", {128, 1, 1}), intAttr("shared_bytes", 0)}},
             {"cuda.alias", {2}, {3}, {}}};
  a.images = {{"sm_90a", std::string("\x7f" "ELF not a real cubin", 21)},
              {"compute_80", addKernelPtx()}};
  return a;
}

/// A dynamic program (dim symbol "n"): y = x + x of f32[n] by one launch of
/// `ds_test_add_n(x, x, y, n)` over ceil(n / 128) blocks of 128 (its grid and
/// y's dim are size programs), then z = cuda.alias(y). The PTX declares the
/// kernel only (the stand-in driver runs it on the host). With `otherSymbol`,
/// "n" is symbol 1 of the table and symbol 0 a second one (named by no
/// input, as a table may hold), so the kernel takes two size parameters.
inline ArtifactSpec dynamicAddArtifact(bool otherSymbol = false) {
  ArtifactSpec a;
  a.version = 3;
  a.symbols = {{"n", 0, 100000}};
  if (otherSymbol)
    a.symbols.insert(a.symbols.begin(), SymbolSpec{"m", 0, -1});
  const int64_t n = otherSymbol ? 1 : 0;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {-n - 1}, 0, "x"},
              {DS_F32, DSX_STORAGE_ARENA, {-1}, 0, "y"},
              {DS_F32, DSX_STORAGE_ARENA, {-1}, 0, "z"}};
  a.inputs = {0};
  a.outputs = {2};
  a.outputNames = {"z"};
  // Size programs (dsx_size_op pairs): n; ceil(n / 128).
  const std::vector<int64_t> size = {DSX_SIZE_SYMBOL, n};
  std::vector<int64_t> grid = {0, 3};
  grid.insert(grid.end(), size.begin(), size.end());
  grid.insert(grid.end(), {DSX_SIZE_CONST, 128, DSX_SIZE_CEILDIV, 0});
  std::vector<int64_t> dims = {0, 0, 1};
  dims.insert(dims.end(), size.begin(), size.end());
  a.steps = {{"cuda.launch",
              {0, 0},
              {1},
              {strAttr("kernel", "ds_test_add_n"), intsAttr("grid", {1, 1, 1}),
               intsAttr("block", {128, 1, 1}), intAttr("shared_bytes", 0),
               intsAttr("dynamic_fields", grid), intsAttr("dynamic_dims", dims)}},
             {"cuda.alias", {1}, {2}, {intsAttr("dynamic_dims", dims)}}};
  a.images = {{"compute_80", std::string(".version 7.0\n.target sm_80\n.address_size 64\n"
                                         ".visible .entry ds_test_add_n(.param .u64 pa, "
                                         ".param .u64 pb, .param .u64 pc, ") +
                                 (otherSymbol ? ".param .u64 pm, " : "") +
                                 ".param .u64 pn)\n{\n  ret;\n}\n"}};
  return a;
}

} // namespace dstest

#endif // DS_TEST_RUNTIME_CUDAARTIFACTBUILDER_H
