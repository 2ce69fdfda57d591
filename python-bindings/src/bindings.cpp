//===- bindings.cpp - nanobind module `ds._ds` over the runtime -----------===//
//
// Model / Session with numpy in and out. A failed runtime status becomes a
// ds.Error (RuntimeError) carrying the runtime's message, or its subclass
// ds.NoDeviceError for DS_NO_DEVICE (a cuda artifact on a machine without a
// GPU or driver); this is the only place statuses turn into exceptions.
//
//===----------------------------------------------------------------------===//
#include "ds-runtime/ds_runtime.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <memory>

namespace nb = nanobind;

namespace {
nb::dlpack::dtype toDLPack(ds_dtype dtype) {
  switch (dtype) {
  case DS_F32: return nb::dtype<float>();
  case DS_F64: return nb::dtype<double>();
  case DS_F16: return {(uint8_t)nb::dlpack::dtype_code::Float, 16, 1};
  case DS_BF16: return {(uint8_t)nb::dlpack::dtype_code::Bfloat, 16, 1};
  case DS_I64: return nb::dtype<int64_t>();
  case DS_I32: return nb::dtype<int32_t>();
  case DS_I16: return nb::dtype<int16_t>();
  case DS_I8: case DS_I4: case DS_I2: return nb::dtype<int8_t>();
  case DS_U64: return nb::dtype<uint64_t>();
  case DS_U32: return nb::dtype<uint32_t>();
  case DS_U16: return nb::dtype<uint16_t>();
  case DS_BOOL: return nb::dtype<bool>();
  default: return nb::dtype<uint8_t>();
  }
}

bool matches(const nb::dlpack::dtype &a, const nb::dlpack::dtype &b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

nb::dict describe(const ds_value_info &info) {
  nb::dict d;
  d["name"] = std::string(info.name);
  d["dtype"] = std::string(ds_dtype_name(info.dtype));
  d["shape"] = std::vector<int64_t>(info.dims, info.dims + info.rank);
  return d;
}

class PySession {
public:
  PySession(std::shared_ptr<ds::Model> model, int numThreads, int device)
      : model_(std::move(model)), session_(*model_, numThreads, device) {}

  nb::dict run(nb::dict feeds) {
    std::vector<ds::TensorRef> inputs;
    std::vector<nb::ndarray<nb::c_contig, nb::device::cpu>> keep;
    size_t used = 0;
    for (int i = 0; i < model_->numInputs(); ++i) {
      ds_value_info info = model_->input(i);
      if (!feeds.contains(info.name))
        throw ds::Error(DS_INVALID_ARGUMENT,
                        std::string("missing input '") + info.name + "'");
      ++used;
      auto array = nb::cast<nb::ndarray<nb::c_contig, nb::device::cpu>>(feeds[info.name]);
      if (!matches(array.dtype(), toDLPack(info.dtype)))
        throw ds::Error(DS_INVALID_ARGUMENT, std::string("input '") + info.name +
                                                 "' must have dtype " +
                                                 ds_dtype_name(info.dtype));
      std::vector<int64_t> dims(array.ndim());
      for (size_t d = 0; d < array.ndim(); ++d)
        dims[d] = (int64_t)array.shape(d);
      inputs.push_back({info.dtype, dims, array.data(), array.nbytes()});
      keep.push_back(array);
    }
    if (used != feeds.size())
      for (auto item : feeds) {
        std::string name = nb::cast<std::string>(item.first);
        bool known = false;
        for (int i = 0; i < model_->numInputs(); ++i)
          known |= name == model_->input(i).name;
        if (!known)
          throw ds::Error(DS_INVALID_ARGUMENT, "the model has no input named '" + name + "'");
      }
    {
      nb::gil_scoped_release release;
      session_.run(inputs);
    }
    nb::dict results;
    for (int i = 0; i < model_->numOutputs(); ++i) {
      ds_tensor out = session_.output(i);
      // Copy out: the session reuses its buffers on the next run.
      auto *copy = new unsigned char[out.byte_size];
      std::memcpy(copy, out.data, out.byte_size);
      nb::capsule owner(copy, [](void *p) noexcept { delete[] (unsigned char *)p; });
      std::vector<size_t> shape(out.dims, out.dims + out.rank);
      results[model_->output(i).name] =
          nb::ndarray<nb::numpy>(copy, shape.size(), shape.data(), owner, nullptr,
                                 toDLPack(out.dtype));
    }
    return results;
  }

private:
  std::shared_ptr<ds::Model> model_;
  ds::Session session_;
};
} // namespace

NB_MODULE(_ds, m) {
  m.doc() = "ds runtime bindings";
  static nb::exception<ds::Error> error(m, "Error", PyExc_RuntimeError);
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
      .def("run", &PySession::run, nb::arg("feeds"),
           "Run with {input name: numpy array}; returns {output name: numpy array}.");

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
  m.def("model_outputs", [](const std::shared_ptr<ds::Model> &model) {
    nb::list l;
    for (int i = 0; i < model->numOutputs(); ++i)
      l.append(describe(model->output(i)));
    return l;
  });
  m.def("arena_bytes", [](const std::shared_ptr<ds::Model> &model) { return model->arenaBytes(); });
  m.def("model_target", [](const std::shared_ptr<ds::Model> &model) {
    return std::string(ds_model_target(model->get()));
  });
}
