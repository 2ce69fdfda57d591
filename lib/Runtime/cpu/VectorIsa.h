//===- VectorIsa.h - which x86 vector build of a kernel runs -----*- C++ -*-===//
//
// A kernel written with intrinsics for both AVX-512 and AVX2 + FMA (the
// Winograd transforms, the depthwise loops; others are AVX-512 only) runs
// the widest build the CPU has. Taking a VectorIsa lets its tests run each
// build the CPU can (AVX2's on AVX-512 machines too), so that no build
// goes untested where CI's CPU is the wider one.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_VECTORISA_H
#define DS_RUNTIME_CPU_VECTORISA_H

namespace dsrt::cpu {

enum class VectorIsa { None, Avx2, Avx512 };

/// AVX-512F (with AVX2 + FMA), else AVX2 + FMA, else None (decided once).
inline VectorIsa widestVectorIsa() {
#if defined(__x86_64__)
  // The AVX-512 builds use AVX2 and FMA instructions too (every AVX-512
  // CPU has them; a hypervisor could hide them).
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const VectorIsa widest = !avx2                               ? VectorIsa::None
                                  : __builtin_cpu_supports("avx512f") ? VectorIsa::Avx512
                                                                      : VectorIsa::Avx2;
  return widest;
#else
  return VectorIsa::None;
#endif
}

/// Whether this CPU has AVX2 (the integer kernels' builds, which need no
/// FMA: cpu/WidenedIntegerGemm.h, cpu/IntegerPackedGemmAvx2.h).
inline bool cpuHasAvx2() {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

/// Whether this CPU runs `isa`'s build (None never: it names no build).
inline bool vectorIsaRuns(VectorIsa isa) {
  return isa != VectorIsa::None && (int)isa <= (int)widestVectorIsa();
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_VECTORISA_H
