//===- PackedConstants.cpp - constant operands packed once per session ----===//
//
// Each add* packs a constant at most once (a second call with the same
// address and shape finds the first); each find* returns the packed form
// only for the shape asked, so a kernel that reads a constant with other
// dims never takes a layout made for different ones.
//
//===----------------------------------------------------------------------===//
#include "cpu/PackedConstants.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace dsrt::cpu {
namespace {

/// The packed form of the constant at `data` in `map` if it is the shape
/// `matches` wants, else null.
template <class Map, class Matches>
const typename Map::mapped_type *entryIf(const Map &map, const void *data, Matches matches) {
  auto it = map.find(data);
  return it != map.end() && matches(it->second) ? &it->second : nullptr;
}

} // namespace

void PackedConstants::addSet(const void *data, PackedSet set) {
  std::vector<PackedSet> &sets = sets_[data];
  for (PackedSet &existing : sets)
    if (existing.variant == set.variant) {
      existing = std::move(set);
      return;
    }
  sets.push_back(std::move(set));
}

const PackedSet *PackedConstants::findSet(const void *data, int64_t M, int64_t C,
                                          int64_t variant) const {
  auto it = sets_.find(data);
  if (it == sets_.end())
    return nullptr;
  for (const PackedSet &set : it->second)
    if (set.variant == variant && set.M == M && set.C == C)
      return &set;
  return nullptr;
}

bool PackedConstants::add(const float *data, int64_t K, int64_t N) {
  if (find(data, K, N))
    return true;
  PackedMatrix packed;
  if (!packMatrix(data, K, N, N, packed))
    return false;
  packed_[data] = std::move(packed);
  return true;
}

bool PackedConstants::addWidened(const uint16_t *data, DType type, int64_t K, int64_t N) {
  if (find(data, K, N))
    return true;
  std::vector<float> widened;
  try {
    widened.resize((size_t)(K * N));
  } catch (const std::bad_alloc &) {
    return false;
  }
  widenToFloatN(type, data, widened.data(), K * N);
  PackedMatrix packed;
  if (!packMatrix(widened.data(), K, N, N, packed))
    return false;
  packed_[data] = std::move(packed);
  return true;
}

const float *PackedConstants::addWidenedCopy(const uint16_t *data, DType type, int64_t count) {
  if (const float *copy = findWidenedCopy(data, count))
    return copy;
  std::vector<float> widened;
  try {
    widened.resize((size_t)count);
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
  widenToFloatN(type, data, widened.data(), count);
  return (widenedCopies_[{data, count}] = std::move(widened)).data();
}

const float *PackedConstants::findWidenedCopy(const void *data, int64_t count) const {
  auto it = widenedCopies_.find({data, count});
  return it != widenedCopies_.end() ? it->second.data() : nullptr;
}

bool PackedConstants::addTransposed(const float *data, int64_t N, int64_t K) {
  if (findTransposed(data, N, K))
    return true;
  PackedMatrix packed;
  if (!packTransposedMatrix(data, N, K, packed))
    return false;
  transposed_[data] = std::move(packed);
  return true;
}

const PackedMatrix *PackedConstants::findTransposed(const void *data, int64_t N, int64_t K) const {
  return entryIf(transposed_, data, [&](const PackedMatrix &m) { return m.K == K && m.N == N; });
}

bool PackedConstants::addLeft(const float *data, int64_t M, int64_t K) {
  if (findLeft(data, M, K))
    return true;
  PackedLeftMatrix packed;
  if (!packLeftMatrix(data, M, K, K, packed))
    return false;
  left_[data] = std::move(packed);
  return true;
}

const PackedLeftMatrix *PackedConstants::findLeft(const void *data, int64_t M, int64_t K) const {
  return entryIf(left_, data, [&](const PackedLeftMatrix &m) { return m.M == M && m.K == K; });
}

bool canonicalFourBitCodes(const uint8_t *codes, int64_t count, bool isSigned) {
  for (int64_t i = 0; i < count; ++i) {
    int v = isSigned ? (int)(int8_t)codes[i] : (int)codes[i];
    if (v < (isSigned ? -8 : 0) || v > (isSigned ? 7 : 15))
      return false;
  }
  return true;
}

namespace {
/// `bytes` (at least 1) bytes at a 64-byte boundary, so that a 64-byte row of
/// a group is one cache line; false when out of memory.
bool allocateAligned(int64_t bytes, std::unique_ptr<uint8_t, void (*)(void *)> &out) {
  const size_t size = ((size_t)std::max<int64_t>(1, bytes) + 63) / 64 * 64;
  out.reset(static_cast<uint8_t *>(std::aligned_alloc(64, size)));
  return out != nullptr;
}

/// The K x N 4-bit codes packed for the weight-only kernel (NibbleMatrix's
/// layout); code(k, n) gives each code's low four bits. False when out of
/// memory.
template <typename Code> bool packNibbles(int64_t K, int64_t N, Code code, NibbleMatrix &m) {
  m.K = K;
  m.N = N;
  constexpr int64_t G = NibbleMatrix::kGroup, H = G / 2;
  if (!allocateAligned(m.groups() * K * H, m.bytes))
    return false;
  auto codeOr0 = [&](int64_t k, int64_t n) -> uint8_t { return n < N ? code(k, n) & 0x0F : 0; };
  for (int64_t g = 0; g < m.groups(); ++g)
    for (int64_t k = 0; k < K; ++k) {
      uint8_t *dst = m.bytes.get() + (g * K + k) * H;
      for (int64_t j = 0; j < H; ++j)
        dst[j] = (uint8_t)(codeOr0(k, g * G + j) | (codeOr0(k, g * G + j + H) << 4));
    }
  return true;
}
} // namespace

bool PackedConstants::addNibbles(const uint8_t *codes, int64_t K, int64_t N) {
  if (findNibbles(codes, K, N))
    return true;
  NibbleMatrix m;
  if (!packNibbles(
          K, N, [&](int64_t k, int64_t n) { return codes[k * N + n]; }, m))
    return false;
  nibbles_[codes] = std::move(m);
  return true;
}

const uint8_t *PackedConstants::addNibblesFromPackedCodes(const uint8_t *packedCodes, int64_t K,
                                                          int64_t N) {
  NibbleMatrix m;
  auto code = [&](int64_t k, int64_t n) {
    const int64_t i = k * N + n;
    return (uint8_t)(packedCodes[i / 2] >> (4 * (i % 2)));
  };
  if (!packNibbles(K, N, code, m))
    return nullptr;
  const uint8_t *key = m.bytes.get();
  nibbles_[key] = std::move(m);
  return key;
}

bool PackedConstants::addByteGroups(const uint8_t *codes, int64_t K, int64_t N) {
  if (findByteGroups(codes, K, N))
    return true;
  ByteGroupMatrix m;
  m.K = K;
  m.N = N;
  constexpr int64_t G = ByteGroupMatrix::kGroup;
  if (!allocateAligned(m.groups() * K * G, m.bytes))
    return false;
  std::memset(m.bytes.get(), 0, (size_t)(m.groups() * K * G)); // columns past N
  for (int64_t g = 0; g < m.groups(); ++g)
    for (int64_t k = 0; k < K; ++k)
      std::copy_n(codes + k * N + g * G, std::min(G, N - g * G), m.bytes.get() + (g * K + k) * G);
  byteGroups_[codes] = std::move(m);
  return true;
}

const ByteGroupMatrix *PackedConstants::findByteGroups(const void *data, int64_t K,
                                                       int64_t N) const {
  return entryIf(byteGroups_, data, [&](const ByteGroupMatrix &m) { return m.K == K && m.N == N; });
}

const NibbleMatrix *PackedConstants::findNibbles(const void *data, int64_t K, int64_t N) const {
  return entryIf(nibbles_, data, [&](const NibbleMatrix &m) { return m.K == K && m.N == N; });
}

bool PackedConstants::addInt8Conv(const int8_t *data, int64_t M, int64_t Cg, int64_t taps) {
  if (findInt8Conv(data, M, Cg, taps))
    return true;
  PackedInt8Conv packed;
  if (!packInt8ConvWeights(data, M, Cg, taps, packed))
    return false;
  int8Convs_[data] = std::move(packed);
  return true;
}

const PackedInt8Conv *PackedConstants::findInt8Conv(const void *data, int64_t M, int64_t Cg,
                                                    int64_t taps) const {
  return entryIf(int8Convs_, data,
                 [&](const PackedInt8Conv &c) { return c.M == M && c.Cg == Cg && c.taps == taps; });
}

bool PackedConstants::addInt8ConvAvx2(const int8_t *data, int64_t M, int64_t Cg, int64_t taps) {
  if (findInt8ConvAvx2(data, M, Cg, taps))
    return true;
  WidenedInt8Conv widened;
  if (!widenInt8Conv(data, M, Cg, taps, widened))
    return false;
  int8ConvsAvx2_[data] = std::move(widened);
  return true;
}

const WidenedInt8Conv *PackedConstants::findInt8ConvAvx2(const void *data, int64_t M, int64_t Cg,
                                                         int64_t taps) const {
  return entryIf(int8ConvsAvx2_, data, [&](const WidenedInt8Conv &c) {
    return c.M == M && c.Cg == Cg && c.taps == taps;
  });
}

bool PackedConstants::addBf16Conv(const uint16_t *data, int64_t M, int64_t Cg, int64_t taps) {
  if (findBf16Conv(data, M, Cg, taps))
    return true;
  PackedBf16Conv packed;
  if (!packBf16ConvWeights(data, M, Cg, taps, packed))
    return false;
  bf16Convs_[data] = std::move(packed);
  return true;
}

const PackedBf16Conv *PackedConstants::findBf16Conv(const void *data, int64_t M, int64_t Cg,
                                                    int64_t taps) const {
  return entryIf(bf16Convs_, data,
                 [&](const PackedBf16Conv &c) { return c.M == M && c.Cg == Cg && c.taps == taps; });
}

bool PackedConstants::addInt8Matrix(const int8_t *data, int64_t K, int64_t N) {
  if (findInt8Matrix(data, K, N))
    return true;
  PackedInt8Matrix packed;
  if (!packInt8Matrix(data, K, N, packed))
    return false;
  int8Matrices_[data] = std::move(packed);
  return true;
}

const PackedInt8Matrix *PackedConstants::findInt8Matrix(const void *data, int64_t K,
                                                        int64_t N) const {
  return entryIf(int8Matrices_, data,
                 [&](const PackedInt8Matrix &m) { return m.K == K && m.N == N; });
}

bool PackedConstants::addBf16Matrix(const uint16_t *data, int64_t K, int64_t N) {
  if (findBf16Matrix(data, K, N))
    return true;
  PackedBf16Matrix packed;
  if (!packBf16Matrix(data, K, N, packed))
    return false;
  bf16Matrices_[data] = std::move(packed);
  return true;
}

const PackedBf16Matrix *PackedConstants::findBf16Matrix(const void *data, int64_t K,
                                                        int64_t N) const {
  return entryIf(bf16Matrices_, data,
                 [&](const PackedBf16Matrix &m) { return m.K == K && m.N == N; });
}

const PackedMatrix *PackedConstants::find(const void *data, int64_t K, int64_t N) const {
  return entryIf(packed_, data, [&](const PackedMatrix &m) { return m.K == K && m.N == N; });
}

} // namespace dsrt::cpu
