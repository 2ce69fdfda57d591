//===- Multiversion.h - loops compiled for several x86-64 levels -*- C++ -*-===//
//
// The runtime is built for the baseline x86-64 (SSE2) so that it loads on
// any machine. A hot loop marked DS_VECTORIZED is compiled three times, for
// AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline, and the
// widest the CPU has is picked when the library loads. Helpers it calls are
// marked DS_INLINE so that they compile into each clone.
//
// The AVX2 / AVX-512 clones may contract a * b + c into one fused
// multiply-add, the baseline cannot: a file whose results must not depend
// on the CPU is built with -ffp-contract=off (lib/Runtime/CMakeLists.txt).
//
// Not under ThreadSanitizer: the clones' ifunc resolvers run during
// relocation, before TSan's runtime is set up, and crash instrumented (the
// sanitized build runs the baseline loops). target_clones does not combine
// with templates: a template body is DS_INLINE and each instantiation gets
// a plain DS_VECTORIZED function.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_MULTIVERSION_H
#define DS_RUNTIME_CPU_MULTIVERSION_H

#if defined(__SANITIZE_THREAD__)
#define DS_NO_MULTIVERSIONING 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DS_NO_MULTIVERSIONING 1
#endif
#endif

#if defined(__x86_64__) && !defined(DS_NO_MULTIVERSIONING)
#define DS_VECTORIZED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DS_VECTORIZED
#endif

#define DS_INLINE inline __attribute__((always_inline))

#endif // DS_RUNTIME_CPU_MULTIVERSION_H
