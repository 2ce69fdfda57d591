//===- StoreEpilogue.h - a fusion group's tail, run as a kernel stores -*- C++ -*-===//
//
// A contraction that produces i32 sums (ds.conv_integer, ds.matmul_integer)
// can hand each run of finished sums to a StoreEpilogue instead of writing
// them: the elementwise steps after it in its fusion group (the cast to f32,
// the per-channel scale and bias, a ReLU, GELU or SiLU, the requantization
// of QDQ models, a residual add) run on those values while they are in
// cache, and only the results read after the group reach memory. Each step
// computes what its own kernel computes, in the same order and precision,
// so the results equal the unfused ones bit for bit (where two NaNs meet in
// an add or multiply, which payload survives is the compiler's operand
// order, here as in the steps' kernels). core/StoreEpiloguePlan.h
// decides when a group's tail is such a chain.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_STOREEPILOGUE_H
#define DS_RUNTIME_CPU_STOREEPILOGUE_H

#include "core/Tensor.h"

#include <cstdint>
#include <vector>

namespace dsrt::cpu {

struct StoreEpilogue {
  /// One elementwise step on the chain's value v (f32 after the cast).
  struct Op {
    enum Kind : uint8_t {
      Add,        ///< v + operand
      Sub,        ///< v - operand (operandFirst: operand - v)
      Mul,        ///< v * operand
      Div,        ///< v / operand (operandFirst: operand / v)
      Relu,       ///< ds.unary relu: NaN stays NaN
      Gelu,       ///< ds.unary gelu (cpu/VectorMath.h's, as the unary kernel)
      GeluTanh,   ///< ds.unary gelu_tanh (the same)
      Silu,       ///< v * sigmoid(v): ds.unary sigmoid, then ds.binary mul
      Quantize,   ///< ds.quantize to u8 / i8, one scale: v becomes an integer
      Dequantize, ///< ds.dequantize from u8 / i8, one scale
    } kind = Add;
    /// Where a binary step's other operand comes from.
    enum Source : uint8_t {
      Scalar,     ///< one value for every element
      PerChannel, ///< one value per output channel (a conv's [M, 1, 1] bias,
                  ///< a matmul's [N] one)
      Full,       ///< a tensor of the result's shape, read at each element
    } source = Scalar;
    bool operandFirst = false;
    float scalar = 0;
    const float *values = nullptr; ///< PerChannel: M values; Full: the tensor
    float scale = 1, zeroPoint = 0, lo = 0, hi = 0; ///< (de)quantization
    /// Where v is written after this step (null: nowhere) and as what:
    /// f32, or the integer type the step quantized to.
    void *store = nullptr;
    DType storeType = DS_F32;
  };
  std::vector<Op> ops;
  /// Channels first (a convolution's [N, M, H, W]): M channels of `pixels`
  /// elements per image. Channels last (a matmul's [..., N]): rows of
  /// `channels` elements, `pixels` 0.
  int64_t channels = 0;
  int64_t pixels = 0;
  /// Filled by prepareStoreEpilogue once the ops are in place: which
  /// compiled loop runs the chain (-1: the general one, op by op over
  /// blocks) and, for that loop, where its residual add and its quantize
  /// are in `ops`.
  int tailLoop = -1;
  size_t tailResidual = 0, tailQuantize = 0;
};

/// Picks the loop that will run `epilogue`'s chain: a chain of the usual
/// shape (scale, bias, optionally a residual add, a ReLU, a quantize; a
/// store at the end and, before a quantize, optionally one of the f32
/// value) runs with each value in a register throughout. An
/// epilogue never prepared runs the general loop, which gives the same bits.
void prepareStoreEpilogue(StoreEpilogue &epilogue);

/// Runs `epilogue` on `count` sums of each of output channels [channel,
/// channel + channels) of image `image`, those of pixels [pixel, pixel +
/// count) (channels first; channel c's sums at sums + (c - channel) *
/// ldSums): the i32 -> f32 cast, then each op, writing where the ops say.
/// x86-64 with AVX-512 (F, BW, VL) only: its callers are the VNNI kernels
/// (cpu/IntegerDirectConv.h, cpu/IntegerPackedGemm.h).
void storeChannelsWithEpilogue(const StoreEpilogue &epilogue, const int32_t *sums,
                               int64_t ldSums, int64_t image, int64_t channel, int64_t channels,
                               int64_t pixel, int64_t count);
/// The same for channels last: `count` sums of each of rows [row, row +
/// rows), columns [column, column + count), row r's at sums + r * ldSums.
void storeRowsWithEpilogue(const StoreEpilogue &epilogue, const int32_t *sums, int64_t ldSums,
                           int64_t row, int64_t rows, int64_t column, int64_t count);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_STOREEPILOGUE_H
