//===- training.cpp - ds._ds.TrainingSession and LossScaler ---------------===//
//
// The runtime's training session (ds_runtime.h, Training) for the package's
// ds.TrainingSession (ds/_training.py). Tensors cross as in bindings.cpp:
// flat uint8 bytes in the runtime's encoding plus dims.
//
//===----------------------------------------------------------------------===//
#include "describe.h"
#include "ds-runtime/ds_runtime.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>

namespace nb = nanobind;

namespace {
using InputBytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutputBytes = nb::ndarray<uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

class PyTrainingSession {
public:
  PyTrainingSession(std::shared_ptr<ds::Model> model, int numThreads,
                    std::optional<ds_loss_scaler> scaler)
      : model_(std::move(model)), session_(*model_, numThreads, scaler ? &*scaler : nullptr) {}

  nb::list batchInputs() const {
    nb::list l;
    for (const ds_value_info &info : session_.batchInputs())
      l.append(describe(info));
    return l;
  }
  /// [{name, dtype, shape, is_parameter}], parameters first.
  nb::list state() const {
    nb::list l;
    for (const auto &s : session_.state()) {
      nb::dict d = describe(s.info);
      d["is_parameter"] = s.isParameter;
      l.append(d);
    }
    return l;
  }
  /// (loss, applied) for one (bytes, dims) per batch input, in order.
  nb::tuple step(const std::vector<InputBytes> &data, const std::vector<std::vector<int64_t>> &dims) {
    std::vector<ds_value_info> inputs = session_.batchInputs();
    if (data.size() != inputs.size() || dims.size() != inputs.size())
      throw ds::Error(DS_INVALID_ARGUMENT, "the step takes " + std::to_string(inputs.size()) +
                                               " batch inputs, got " + std::to_string(data.size()));
    std::vector<ds_tensor> tensors(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      tensors[i] = ds_tensor{inputs[i].dtype, (int32_t)dims[i].size(), dims[i].data(),
                             const_cast<uint8_t *>(data[i].data()), data[i].size()};
    double loss = 0;
    int32_t applied = 0;
    ds_status status;
    {
      nb::gil_scoped_release release;
      status = ds_training_session_step(session_.get(), tensors.data(), (int32_t)tensors.size(),
                                        &loss, &applied);
    }
    ds::check(status);
    return nb::make_tuple(loss, applied != 0);
  }
  void readState(const std::string &name, OutputBytes out) {
    ds::check(ds_training_session_read_state(session_.get(), name.c_str(), out.data(), out.size()));
  }
  /// `data` is in the state's dtype (the package checks that first).
  void writeState(const std::string &name, InputBytes data, std::vector<int64_t> dims) {
    for (const auto &s : session_.state())
      if (name == s.info.name) {
        ds_tensor t{s.info.dtype, (int32_t)dims.size(), dims.data(),
                    const_cast<uint8_t *>(data.data()), data.size()};
        ds::check(ds_training_session_write_state(session_.get(), name.c_str(), &t));
        return;
      }
    throw ds::Error(DS_INVALID_ARGUMENT, "no state '" + name + "'");
  }
  ds::TrainingSession &get() { return session_; }

private:
  std::shared_ptr<ds::Model> model_;
  ds::TrainingSession session_;
};
} // namespace

void bindTraining(nb::module_ &m) {
  nb::class_<ds_loss_scaler>(m, "LossScaler",
                             "Dynamic loss scaling for fp16 training: a step whose gradients are "
                             "not finite is skipped and halves `scale` (not below `minimum`); "
                             "`growth_interval` clean steps in a row double it.")
      .def(
          "__init__",
          [](ds_loss_scaler *self, double initial, int64_t growthInterval, double minimum) {
            new (self) ds_loss_scaler;
            ds_loss_scaler_init(self, initial, growthInterval, minimum);
          },
          nb::arg("initial") = 65536.0, nb::arg("growth_interval") = 2000,
          nb::arg("minimum") = 1.0)
      .def(
          "update", [](ds_loss_scaler &s, bool finite) { ds_loss_scaler_update(&s, finite); },
          nb::arg("finite"), "Advances the state machine after a step.")
      .def_rw("scale", &ds_loss_scaler::scale)
      .def_rw("minimum", &ds_loss_scaler::minimum)
      .def_rw("growth_interval", &ds_loss_scaler::growth_interval)
      .def_rw("clean_steps", &ds_loss_scaler::clean_steps)
      .def_rw("skipped_steps", &ds_loss_scaler::skipped_steps)
      .def("__repr__", [](const ds_loss_scaler &s) {
        return "LossScaler(scale=" + std::to_string(s.scale) +
               ", clean_steps=" + std::to_string(s.clean_steps) +
               ", skipped_steps=" + std::to_string(s.skipped_steps) + ")";
      });

  nb::class_<PyTrainingSession>(m, "TrainingSession")
      .def(nb::init<std::shared_ptr<ds::Model>, int, std::optional<ds_loss_scaler>>(),
           nb::arg("model"), nb::arg("num_threads") = 0, nb::arg("loss_scaler") = nb::none())
      .def("batch_inputs", &PyTrainingSession::batchInputs)
      .def("state", &PyTrainingSession::state)
      .def("step", &PyTrainingSession::step, nb::arg("data"), nb::arg("dims"))
      .def("read_state", &PyTrainingSession::readState, nb::arg("name"), nb::arg("out"))
      .def("write_state", &PyTrainingSession::writeState, nb::arg("name"), nb::arg("data"),
           nb::arg("dims"))
      .def_prop_rw(
          "learning_rate", [](PyTrainingSession &s) { return s.get().learningRate(); },
          [](PyTrainingSession &s, double rate) { s.get().setLearningRate(rate); })
      .def_prop_ro("steps_done", [](PyTrainingSession &s) { return s.get().stepsDone(); })
      .def("loss_scaler",
           [](PyTrainingSession &s) -> std::optional<ds_loss_scaler> {
             ds_loss_scaler scaler;
             if (ds_status status = ds_training_session_loss_scaler(s.get().get(), &scaler)) {
               ds_status_release(status);
               return std::nullopt;
             }
             return scaler;
           })
      .def("save", [](PyTrainingSession &s, const std::string &path) {
        nb::gil_scoped_release release;
        s.get().save(path);
      })
      .def("load", [](PyTrainingSession &s, const std::string &path) {
        nb::gil_scoped_release release;
        s.get().load(path);
      });
}
