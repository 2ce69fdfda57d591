//===- PackedConstants.h - constant operands packed once per session -*- C++ -*-===//
//
// The kernels' own layouts of constant operands (a layer's weights), made
// when a session starts and found by the constant's address on every run:
// f32 right and left operands (cpu/PackedGemm.h), Winograd-domain weight
// sets (cpu/WinogradConv.h), 4-bit codes two per byte, 8-bit and bf16
// matrices and convolution weights (cpu/IntegerPackedGemm.h,
// cpu/IntegerDirectConv.h, cpu/IntegerConvAvx2.h, cpu/Bf16PackedGemm.h,
// cpu/Bf16DirectConv.h) and
// f32 copies of f16 constants.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_PACKEDCONSTANTS_H
#define DS_RUNTIME_CPU_PACKEDCONSTANTS_H

#include "core/Tensor.h"
#include "cpu/Bf16DirectConv.h"
#include "cpu/Bf16PackedGemm.h"
#include "cpu/IntegerConvAvx2.h"
#include "cpu/IntegerDirectConv.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/PackedGemm.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dsrt::cpu {

/// A K x N matrix of 4-bit codes (held one per byte, or packed in the
/// artifact two per byte the other way) packed
/// two per byte for ds.matmul_quantized_weight: groups of 64 columns, each
/// [K][32] bytes, byte j of row k holding column j in its low nibble and
/// column j + 32 in its high one (columns past N: 0). Half the bytes of the
/// one-byte codes, read in order.
struct NibbleMatrix {
  static constexpr int64_t kGroup = 64;
  int64_t K = 0, N = 0;
  std::unique_ptr<uint8_t, void (*)(void *)> bytes{nullptr, std::free}; ///< 64-byte aligned
  int64_t groups() const { return (N + kGroup - 1) / kGroup; }
  const uint8_t *row(int64_t group, int64_t k) const {
    return bytes.get() + (group * K + k) * (kGroup / 2);
  }
};

/// A K x N matrix of 8-bit codes for ds.matmul_quantized_weight in groups
/// of 64 columns, each [K][64] bytes (columns past N: 0): a run reads one
/// group's rows in order. In the artifact's [K][N] order each row of a
/// group is a line a page away from the last, which the hardware
/// prefetchers do not follow.
struct ByteGroupMatrix {
  static constexpr int64_t kGroup = 64;
  int64_t K = 0, N = 0;
  std::unique_ptr<uint8_t, void (*)(void *)> bytes{nullptr, std::free}; ///< 64-byte aligned
  int64_t groups() const { return (N + kGroup - 1) / kGroup; }
  const uint8_t *row(int64_t group, int64_t k) const {
    return bytes.get() + (group * K + k) * kGroup;
  }
};

/// Whether `count` one-byte 4-bit codes are as the artifact writer stores
/// them (signed: sign-extended, -8..7; unsigned: 0..15), so that packing
/// their nibbles keeps their values.
bool canonicalFourBitCodes(const uint8_t *codes, int64_t count, bool isSigned);

/// The packed form of constant matrices, by the address of their data (the
/// artifact's read-only mapping or a copy the program or session holds,
/// none of which changes while a session runs: an arena value may reuse an
/// address, a constant cannot).
class PackedConstants {
public:
  /// Packs the K x N one-byte 4-bit codes at `codes` two per byte, found
  /// by that address; false when out of memory.
  bool addNibbles(const uint8_t *codes, int64_t K, int64_t N);
  /// The same from codes as an artifact stores them two per byte
  /// (DSX_VALUE_PACKED_CODES: element i in the low nibble of byte i / 2
  /// when i is even), found by the address this returns (the packed
  /// matrix's own bytes, which nothing else can share); null when out of
  /// memory.
  const uint8_t *addNibblesFromPackedCodes(const uint8_t *packedCodes, int64_t K, int64_t N);
  const NibbleMatrix *findNibbles(const void *data, int64_t K, int64_t N) const;
  /// Packs the K x N 8-bit codes at `codes` in groups of 64 columns, found
  /// by that address; false when out of memory.
  bool addByteGroups(const uint8_t *codes, int64_t K, int64_t N);
  const ByteGroupMatrix *findByteGroups(const void *data, int64_t K, int64_t N) const;
  /// Packs the K x N constant at `data` once; false when out of memory.
  bool add(const float *data, int64_t K, int64_t N);
  /// The same for a K x N f16 constant (`type` DS_F16), widened to f32
  /// once and found by its own address: the CPU has no f16 arithmetic, and
  /// widening the weights on every call made f16 matmuls 3x slower than
  /// f32 ones.
  bool addWidened(const uint16_t *data, DType type, int64_t K, int64_t N);
  /// An f32 copy of the `count` f16 / bf16 constant values at `data`, made
  /// once (null when out of memory): f16 convolutions read it, and the f32
  /// convolution packs it like an f32 constant (found by the copy's address;
  /// keyed by address and count, so constants that start at one address
  /// get copies of their own).
  const float *addWidenedCopy(const uint16_t *data, DType type, int64_t count);
  const float *findWidenedCopy(const void *data, int64_t count) const;
  /// The packed form of the K x N constant at `data`, or null.
  const PackedMatrix *find(const void *data, int64_t K, int64_t N) const;
  /// The same for the transpose of the N x K constant at `data` (kept
  /// apart: a square constant may be read both ways).
  bool addTransposed(const float *data, int64_t N, int64_t K);
  const PackedMatrix *findTransposed(const void *data, int64_t N, int64_t K) const;
  /// The same for left operands (M x K at `data`).
  bool addLeft(const float *data, int64_t M, int64_t K);
  const PackedLeftMatrix *findLeft(const void *data, int64_t M, int64_t K) const;
  /// Packs one group's M x (Cg * taps) s8 convolution weights at `data`
  /// for cpu/IntegerDirectConv.h; false when out of memory.
  bool addInt8Conv(const int8_t *data, int64_t M, int64_t Cg, int64_t taps);
  const PackedInt8Conv *findInt8Conv(const void *data, int64_t M, int64_t Cg, int64_t taps) const;
  /// Widens one group's M x (Cg * taps) s8 convolution weights at `data`
  /// for cpu/IntegerConvAvx2.h; false when out of memory.
  bool addInt8ConvAvx2(const int8_t *data, int64_t M, int64_t Cg, int64_t taps);
  const WidenedInt8Conv *findInt8ConvAvx2(const void *data, int64_t M, int64_t Cg,
                                          int64_t taps) const;
  /// Packs one group's M x (Cg * taps) bf16 convolution weights at `data`
  /// for cpu/Bf16DirectConv.h; false when out of memory.
  bool addBf16Conv(const uint16_t *data, int64_t M, int64_t Cg, int64_t taps);
  const PackedBf16Conv *findBf16Conv(const void *data, int64_t M, int64_t Cg, int64_t taps) const;
  /// Packs the K x N s8 constant at `data` for cpu/IntegerPackedGemm.h;
  /// false when out of memory.
  bool addInt8Matrix(const int8_t *data, int64_t K, int64_t N);
  const PackedInt8Matrix *findInt8Matrix(const void *data, int64_t K, int64_t N) const;
  /// Packs the K x N bf16 constant at `data` for cpu/Bf16PackedGemm.h;
  /// false when out of memory.
  bool addBf16Matrix(const uint16_t *data, int64_t K, int64_t N);
  const PackedBf16Matrix *findBf16Matrix(const void *data, int64_t K, int64_t N) const;
  /// A set made from the constant at `data` (M x C per matrix); one per
  /// variant (convolutions sharing weights may run in different ones).
  void addSet(const void *data, PackedSet set);
  /// The set of `variant` made from the constant at `data`, or null.
  const PackedSet *findSet(const void *data, int64_t M, int64_t C, int64_t variant) const;
  size_t size() const {
    return packed_.size() + transposed_.size() + left_.size() + sets_.size() + nibbles_.size() +
           byteGroups_.size() + int8Convs_.size() + int8Matrices_.size() + bf16Matrices_.size() +
           bf16Convs_.size() + int8ConvsAvx2_.size() + widenedCopies_.size();
  }

private:
  std::unordered_map<const void *, PackedMatrix> packed_, transposed_;
  std::unordered_map<const void *, PackedLeftMatrix> left_;
  std::unordered_map<const void *, std::vector<PackedSet>> sets_;
  std::unordered_map<const void *, NibbleMatrix> nibbles_;
  std::unordered_map<const void *, ByteGroupMatrix> byteGroups_;
  std::unordered_map<const void *, PackedInt8Conv> int8Convs_;
  std::unordered_map<const void *, WidenedInt8Conv> int8ConvsAvx2_;
  std::unordered_map<const void *, PackedInt8Matrix> int8Matrices_;
  std::unordered_map<const void *, PackedBf16Matrix> bf16Matrices_;
  std::unordered_map<const void *, PackedBf16Conv> bf16Convs_;
  std::map<std::pair<const void *, int64_t>, std::vector<float>> widenedCopies_;
};

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_PACKEDCONSTANTS_H
