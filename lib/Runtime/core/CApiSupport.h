//===- CApiSupport.h - statuses and exception guards of the C API -*- C++ -*-===//
//
// Shared by the C API's files (CApi.cpp, TrainingApi.cpp): how a status is
// made, and the guard that keeps C++ exceptions from leaving a C call.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_CAPISUPPORT_H
#define DS_RUNTIME_CORE_CAPISUPPORT_H

#include "core/Tensor.h"
#include "ds-runtime/ds_runtime.h"

#include <exception>
#include <new>
#include <string>

struct ds_status_t {
  ds_status_code code;
  std::string message;
};

namespace dsrt::capi {

/// Handed out when a status itself cannot be allocated; never freed.
inline ds_status_t outOfMemory{DS_RUNTIME_ERROR, "out of memory"};

inline ds_status make(ds_status_code code, std::string &&message) noexcept {
  try {
    return new ds_status_t{code, std::move(message)};
  } catch (...) {
    return &outOfMemory;
  }
}
/// `what` + `detail`, built here so that a failing allocation still ends as
/// a status.
inline ds_status make(ds_status_code code, const char *what, const char *detail = "") noexcept {
  try {
    return make(code, std::string(what) + detail);
  } catch (...) {
    return &outOfMemory;
  }
}
inline ds_status toC(const dsrt::Status &s) {
  return s.ok() ? nullptr : make(s.code(), std::string(s.message()));
}
/// Runs `body` (which returns a ds_status) so that no exception leaves the C
/// API: an allocation failure deep in a kernel (on any of the session's
/// threads: the pool rethrows on the caller), a failing mutex or a message
/// that cannot be built becomes a status.
template <typename F> ds_status guarded(const char *what, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return make(DS_RUNTIME_ERROR, what, ": out of memory");
  } catch (const std::exception &e) {
    return make(DS_RUNTIME_ERROR, what, (std::string(": ") + e.what()).c_str());
  } catch (...) {
    return make(DS_RUNTIME_ERROR, what, ": unknown exception");
  }
}
} // namespace dsrt::capi

#endif // DS_RUNTIME_CORE_CAPISUPPORT_H
