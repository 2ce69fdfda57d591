//===- bindings.cpp - nanobind module `ds._ds` over the runtime's C API ---===//
//
// The raw layer under the `ds` package. Tensors cross it as flat uint8 bytes
// in the runtime's element encoding plus dims: the package (ds/_dtypes.py)
// converts numpy arrays of any dtype, ml_dtypes ones included, to and from
// that, so this file never needs to know numpy's dtype zoo.
//
// A failed runtime status becomes a ds.Error (RuntimeError) carrying the
// runtime's message, or its subclass ds.NoDeviceError for DS_NO_DEVICE (a
// cuda artifact on a machine without a GPU or driver).
//
// Threads: Session.run releases the GIL and calls ds_session_run_outputs,
// which runs and copies the outputs out in one step serialized inside the
// session, so one Session may be run from many Python threads.
//
//===----------------------------------------------------------------------===//
#include "describe.h"
#include "ds-runtime/ds_runtime.hpp"
#include "ds/Calibration/Calibration.h"
#include "ds/Calibration/PrecisionTable.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <memory>

namespace nb = nanobind;

void bindTraining(nb::module_ &m); // training.cpp

namespace {
/// Read-only bytes of one input, as the package hands them over.
using InputBytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Bytes = nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>;
using DeviceArray = nb::ndarray<nb::device::cuda, nb::c_contig>;

/// A numpy uint8 view of `size` bytes at `data` that keeps `owner` alive.
template <typename T> Bytes viewOf(void *data, size_t size, std::shared_ptr<T> owner) {
  static uint8_t empty;
  auto *keep = new std::shared_ptr<T>(std::move(owner));
  nb::capsule capsule(keep, [](void *p) noexcept { delete static_cast<std::shared_ptr<T> *>(p); });
  size_t shape[1] = {size};
  return Bytes(size ? data : &empty, 1, shape, capsule);
}

class PySession {
public:
  PySession(std::shared_ptr<ds::Model> model, int numThreads, int device)
      : model_(std::move(model)), session_(*model_, numThreads, device) {}

  /// inputs: one (bytes, dims) per model input, in order, already in the
  /// input's dtype. Returns (dtype name, dims, bytes) per output; the bytes
  /// view memory owned by the run's ds_outputs (no copy).
  nb::list run(const std::vector<InputBytes> &data, const std::vector<std::vector<int64_t>> &dims) {
    int n = model_->numInputs();
    if ((int)data.size() != n || (int)dims.size() != n)
      throw ds::Error(DS_INVALID_ARGUMENT, "the model takes " + std::to_string(n) + " inputs, got " +
                                               std::to_string(data.size()));
    std::vector<ds_tensor> tensors(n);
    for (int i = 0; i < n; ++i)
      tensors[i] = ds_tensor{model_->input(i).dtype, (int32_t)dims[i].size(), dims[i].data(),
                             // The runtime only reads inputs (ds_runtime.h).
                             const_cast<uint8_t *>(data[i].data()), data[i].size()};
    ds_outputs *raw = nullptr;
    ds_status status;
    {
      nb::gil_scoped_release release;
      status = ds_session_run_outputs(session_.get(), tensors.data(), n, &raw);
    }
    ds::check(status);
    std::shared_ptr<ds_outputs> outputs(raw, ds_outputs_release);
    nb::list results;
    for (int i = 0, e = ds_outputs_count(raw); i < e; ++i) {
      ds_tensor t;
      ds::check(ds_outputs_get(raw, i, &t));
      results.append(nb::make_tuple(std::string(ds_dtype_name(t.dtype)),
                                    std::vector<int64_t>(t.dims, t.dims + t.rank),
                                    viewOf(t.data, t.byte_size, outputs)));
    }
    return results;
  }

  /// Device arrays (anything with __dlpack__: torch, CuPy, JAX) in, written
  /// in place out; ordered on `stream` (a CUstream as an integer).
  void runDevice(const std::vector<DeviceArray> &inputs, const std::vector<DeviceArray> &outputs,
                 uintptr_t stream) {
    std::vector<std::vector<int64_t>> dims;
    dims.reserve(inputs.size() + outputs.size()); // the tensors point into it: no reallocation
    std::vector<ds_tensor> in = deviceTensors(inputs, dims, "input"),
                           out = deviceTensors(outputs, dims, "output");
    ds_status status;
    {
      nb::gil_scoped_release release;
      status = ds_session_run_device(session_.get(), in.data(), (int32_t)in.size(), out.data(),
                                     (int32_t)out.size(), reinterpret_cast<void *>(stream));
    }
    ds::check(status);
  }

private:
  /// The runtime's view of DLPack device arrays (dims kept alive in `dims`,
  /// whose capacity the caller reserved).
  static std::vector<ds_tensor> deviceTensors(const std::vector<DeviceArray> &arrays,
                                              std::vector<std::vector<int64_t>> &dims,
                                              const char *what) {
    std::vector<ds_tensor> tensors;
    for (size_t i = 0; i < arrays.size(); ++i) {
      const DeviceArray &a = arrays[i];
      ds_dtype dtype = dtypeOf(a.dtype());
      if (dtype == 0)
        throw ds::Error(DS_INVALID_ARGUMENT, std::string(what) + " " + std::to_string(i) +
                                                 ": this element type has no ds dtype");
      dims.emplace_back();
      for (size_t d = 0; d < a.ndim(); ++d)
        dims.back().push_back((int64_t)a.shape(d));
      tensors.push_back(ds_tensor{dtype, (int32_t)a.ndim(), dims.back().data(),
                                  const_cast<void *>(a.data()), a.nbytes()});
    }
    return tensors;
  }

  static ds_dtype dtypeOf(nb::dlpack::dtype t) {
    using Code = nb::dlpack::dtype_code;
    if (t.lanes != 1)
      return (ds_dtype)0;
    switch ((Code)t.code) {
    case Code::Float:
      return t.bits == 32 ? DS_F32 : t.bits == 16 ? DS_F16 : t.bits == 64 ? DS_F64 : (ds_dtype)0;
    case Code::Bfloat:
      return t.bits == 16 ? DS_BF16 : (ds_dtype)0;
    case Code::Int:
      return t.bits == 64 ? DS_I64 : t.bits == 32 ? DS_I32 : t.bits == 16 ? DS_I16
             : t.bits == 8 ? DS_I8 : (ds_dtype)0;
    case Code::UInt:
      return t.bits == 8 ? DS_U8 : t.bits == 16 ? DS_U16 : t.bits == 32 ? DS_U32
             : t.bits == 64 ? DS_U64 : (ds_dtype)0;
    case Code::Bool:
      return t.bits == 8 ? DS_BOOL : (ds_dtype)0;
    default:
      return (ds_dtype)0;
    }
  }

  std::shared_ptr<ds::Model> model_;
  ds::Session session_;
};
} // namespace

NB_MODULE(_ds, m) {
  m.doc() = "ds runtime bindings (the raw layer under the ds package)";
  // Leaked on purpose, like noDevice: a static nb::exception would be
  // decref'd by a static destructor after the interpreter has finalized.
  static auto &error = *new nb::exception<ds::Error>(m, "Error", PyExc_RuntimeError);
  static PyObject *noDevice =
      PyErr_NewExceptionWithDoc("ds._ds.NoDeviceError",
                                "The artifact needs a device this machine lacks.", error.ptr(),
                                nullptr);
  m.attr("NoDeviceError") = nb::handle(noDevice);
  // Registered after nb::exception, so it is tried first.
  nb::register_exception_translator([](const std::exception_ptr &p, void *) {
    try {
      std::rethrow_exception(p);
    } catch (const ds::Error &e) {
      PyErr_SetString(e.code() == DS_NO_DEVICE ? noDevice : error.ptr(), e.what());
    }
  });

  nb::class_<ds::Model>(m, "Model");
  m.def(
      "load_model", [](const std::string &path) { return std::make_shared<ds::Model>(path); },
      nb::arg("path"));

  nb::class_<PySession>(m, "Session")
      .def("run", &PySession::run, nb::arg("data"), nb::arg("dims"),
           "Runs with one (flat uint8 bytes, dims) per input, in the model's order; returns "
           "(dtype name, dims, flat uint8 bytes) per output. Safe from several threads.")
      .def("run_device", &PySession::runDevice, nb::arg("inputs"), nb::arg("outputs"),
           nb::arg("stream") = 0,
           "Runs on CUDA arrays (DLPack), the outputs written in place, ordered on `stream`.");

  m.def(
      "create_session",
      [](std::shared_ptr<ds::Model> model, int numThreads, int device) {
        return new PySession(std::move(model), numThreads, device);
      },
      nb::arg("model"), nb::arg("num_threads") = 0, nb::arg("device") = 0);

  m.def("model_inputs", [](const std::shared_ptr<ds::Model> &model) {
    nb::list l;
    for (int i = 0; i < model->numInputs(); ++i)
      l.append(describe(model->input(i)));
    return l;
  });
  // Declared without a shape in the model: one element may come at any rank.
  m.def("model_input_any_rank", [](const std::shared_ptr<ds::Model> &model, int index) {
    return ds_model_input_any_rank(model->get(), index) != 0;
  });
  m.def("model_outputs", [](const std::shared_ptr<ds::Model> &model) {
    nb::list l;
    for (int i = 0; i < model->numOutputs(); ++i)
      l.append(describe(model->output(i)));
    return l;
  });
  m.def(
      "model_input_default",
      [](const std::shared_ptr<ds::Model> &model, int index) -> nb::object {
        ds_tensor t;
        ds::check(ds_model_input_default(model->get(), index, &t));
        if (!t.data)
          return nb::none();
        // Read-only: the bytes are the model's constants.
        Bytes bytes = viewOf(t.data, t.byte_size, model);
        nb::object array = nb::cast(bytes);
        array.attr("setflags")(nb::arg("write") = false);
        return array;
      },
      nb::arg("model"), nb::arg("index"),
      "The default of input `index` as flat uint8 bytes (read-only), or None.");
  // Calibration statistics for static quantization (ds.calibrate), the same
  // code ds-calibrate runs.
  namespace cal = ds_calibration;
  auto method = [](const std::string &name) {
    cal::Method m;
    if (!cal::parseMethod(name, m))
      throw nb::value_error(("calibration method '" + name +
                             "' is not minmax, percentile or entropy").c_str());
    return m;
  };
  nb::class_<cal::RangeCollector>(m, "RangeCollector")
      .def(nb::init<>())
      .def(
          "add",
          [](cal::RangeCollector &c, nb::ndarray<const float, nb::c_contig, nb::device::cpu> a,
             size_t channels) {
            nb::gil_scoped_release release;
            c.add(a.data(), a.size(), channels);
          },
          nb::arg("values"), nb::arg("channels") = 0,
          "Adds the values of a C-contiguous float32 array; channels > 0 (the last axis' size) "
          "also keeps each channel's largest |x|.")
      .def(
          "range",
          [method](const cal::RangeCollector &c, const std::string &name, double percentile) {
            cal::Range r = c.range(method(name), percentile);
            return std::make_tuple(r.lo, r.hi);
          },
          nb::arg("method"), nb::arg("percentile") = 99.99,
          "(lo, hi) under the method, holding 0.")
      .def_prop_ro("count", &cal::RangeCollector::count)
      .def_prop_ro("non_finite", &cal::RangeCollector::nonFinite)
      .def_prop_ro("channel_abs_max", &cal::RangeCollector::channelAbsMax);
  m.def(
      "format_calibration_table",
      [method](const std::string &name, uint64_t samples,
               const std::vector<std::tuple<std::string, float, float, std::vector<float>>>
                   &entries,
               double smoothQuant) {
        cal::Table table;
        table.method = method(name);
        table.samples = samples;
        table.smoothQuantAlpha = smoothQuant;
        for (const auto &[key, lo, hi, absMax] : entries)
          table.entries.push_back({key, {lo, hi}, absMax});
        return cal::formatTable(table);
      },
      nb::arg("method"), nb::arg("samples"), nb::arg("entries"), nb::arg("smooth_quant") = 0.0,
      "The calibration table's text for (name, lo, hi, channel |x| maxima) entries.");
  using Floats = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;
  nb::class_<cal::PrecisionCollector>(m, "PrecisionCollector")
      .def(nb::init<>())
      .def(
          "add",
          [](cal::PrecisionCollector &c, Floats reference, Floats low) {
            if (reference.size() != low.size())
              throw nb::value_error("the reference and the low-precision values differ in size");
            nb::gil_scoped_release release;
            c.add(reference.data(), low.data(), reference.size());
          },
          nb::arg("reference"), nb::arg("low"),
          "Adds an op's f32 result and the same op's result in the low type (float32 arrays).")
      .def_prop_ro("relative_error", &cal::PrecisionCollector::relativeError)
      .def_prop_ro("overflows", &cal::PrecisionCollector::overflows)
      .def_prop_ro("abs_max", &cal::PrecisionCollector::absMax)
      .def_prop_ro("count", &cal::PrecisionCollector::count);
  m.def(
      "format_precision_table",
      [](const std::string &type, uint64_t samples,
         const std::vector<std::tuple<std::string, double, uint64_t, float>> &entries) {
        if (!cal::isPrecisionTableType(type))
          throw nb::value_error(("precision '" + type + "' is not fp16, bf16 or fp8").c_str());
        cal::PrecisionTable table;
        table.type = type;
        table.samples = samples;
        for (const auto &[key, error, overflows, absMax] : entries)
          table.entries.push_back({key, error, overflows, absMax});
        return cal::formatPrecisionTable(table);
      },
      nb::arg("type"), nb::arg("samples"), nb::arg("entries"),
      "The precision table's text for (name, relative error, overflows, |x| max) entries.");
  bindTraining(m);
  m.def("arena_bytes", [](const std::shared_ptr<ds::Model> &model) { return model->arenaBytes(); });
  m.def("model_target", [](const std::shared_ptr<ds::Model> &model) {
    return std::string(ds_model_target(model->get()));
  });
}
