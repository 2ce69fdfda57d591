//===- describe.h - a value's signature as the package sees it ------------===//
#ifndef DS_PYTHON_DESCRIBE_H
#define DS_PYTHON_DESCRIBE_H

#include "ds-runtime/ds_runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

/// {"name", "dtype" (the runtime's name), "shape" (-1: dynamic)}.
inline nanobind::dict describe(const ds_value_info &info) {
  nanobind::dict d;
  d["name"] = std::string(info.name);
  d["dtype"] = std::string(ds_dtype_name(info.dtype));
  d["shape"] = std::vector<int64_t>(info.dims, info.dims + info.rank);
  return d;
}

#endif // DS_PYTHON_DESCRIBE_H
