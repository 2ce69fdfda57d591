//===- VectorIsa.h - which x86 vector build of a kernel runs -----*- C++ -*-===//
//
// Kernels written with intrinsics come in an AVX-512 and an AVX2 + FMA
// build; the widest the CPU has runs. A kernel that takes a VectorIsa lets
// its tests run each build the CPU can (AVX2's on AVX-512 machines too),
// so that no build goes untested where CI's CPU is the wider one.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_VECTORISA_H
#define DS_RUNTIME_CPU_VECTORISA_H

namespace dsrt::cpu {

enum class VectorIsa { None, Avx2, Avx512 };

/// AVX-512F, else AVX2 + FMA, else None (decided once).
inline VectorIsa widestVectorIsa() {
#if defined(__x86_64__)
  static const VectorIsa widest = __builtin_cpu_supports("avx512f") ? VectorIsa::Avx512
                                  : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                                      ? VectorIsa::Avx2
                                      : VectorIsa::None;
  return widest;
#else
  return VectorIsa::None;
#endif
}

/// Whether this CPU runs `isa`'s build (None never: it names no build).
inline bool vectorIsaRuns(VectorIsa isa) {
  return isa != VectorIsa::None && (int)isa <= (int)widestVectorIsa();
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_VECTORISA_H
