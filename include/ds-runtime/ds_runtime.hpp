//===- ds_runtime.hpp - header-only C++ RAII wrappers over the C API -*- C++ -*-===//
//
//   ds::Model model("model.dsx");
//   ds::Session session(model, /*numThreads=*/4);
//   session.run({ds::TensorRef::of(input, {1, 3, 224, 224})});
//   ds_tensor out = session.output(0);
//   ds::Outputs outs = session.runOutputs({...}); // from any thread: caller-owned copies
//
// Errors become ds::Error exceptions carrying the runtime's message. A Model
// may be destroyed before its Sessions (they keep its data alive). One Session
// may be shared by threads (runs are serialized); run() + output() from one
// thread at a time, runOutputs() from many (see ds_runtime.h, Threads).
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_DS_RUNTIME_HPP
#define DS_RUNTIME_DS_RUNTIME_HPP

#include "ds-runtime/ds_runtime.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ds {

class Error : public std::runtime_error {
public:
  Error(ds_status_code code, const std::string &message)
      : std::runtime_error(message), code_(code) {}
  ds_status_code code() const { return code_; }

private:
  ds_status_code code_;
};

/// Throws for a failed status and releases it.
inline void check(ds_status status) {
  if (!status)
    return;
  Error error(ds_status_get_code(status), ds_status_get_message(status));
  ds_status_release(status);
  throw error;
}

class Model {
public:
  explicit Model(const std::string &path) { check(ds_model_load(path.c_str(), &model_)); }
  ~Model() { ds_model_release(model_); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  Model(Model &&other) noexcept : model_(std::exchange(other.model_, nullptr)) {}

  int numInputs() const { return ds_model_num_inputs(model_); }
  int numOutputs() const { return ds_model_num_outputs(model_); }
  ds_value_info input(int i) const {
    ds_value_info info;
    check(ds_model_input_info(model_, i, &info));
    return info;
  }
  ds_value_info output(int i) const {
    ds_value_info info;
    check(ds_model_output_info(model_, i, &info));
    return info;
  }
  uint64_t arenaBytes() const { return ds_model_arena_bytes(model_); }
  std::string target() const { return ds_model_target(model_); }
  const ds_model *get() const { return model_; }

private:
  ds_model *model_ = nullptr;
};

/// A tensor the caller owns, described for the runtime.
struct TensorRef {
  ds_dtype dtype;
  std::vector<int64_t> dims;
  void *data;
  size_t byteSize;

  ds_tensor view() const {
    return ds_tensor{dtype, (int32_t)dims.size(), dims.data(), data, byteSize};
  }
};

/// One run's outputs, copied out of the session and owned by this object.
class Outputs {
public:
  explicit Outputs(ds_outputs *outputs = nullptr) : outputs_(outputs) {}
  ~Outputs() { ds_outputs_release(outputs_); }
  Outputs(const Outputs &) = delete;
  Outputs &operator=(const Outputs &) = delete;
  Outputs(Outputs &&other) noexcept : outputs_(std::exchange(other.outputs_, nullptr)) {}
  Outputs &operator=(Outputs &&other) noexcept {
    std::swap(outputs_, other.outputs_);
    return *this;
  }

  size_t size() const { return (size_t)ds_outputs_count(outputs_); }
  /// Valid while this object lives; data is writable.
  ds_tensor operator[](size_t i) const {
    ds_tensor t;
    check(ds_outputs_get(outputs_, (int32_t)i, &t));
    return t;
  }
  ds_outputs *get() const { return outputs_; }

private:
  ds_outputs *outputs_ = nullptr;
};

class Session {
public:
  /// The backend is the artifact's target; `device` picks the GPU of a cuda
  /// artifact. Without one, ds::Error with code DS_NO_DEVICE.
  explicit Session(const Model &model, int numThreads = 0, int device = 0) {
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = numThreads;
    options.device = device;
    check(ds_session_create(model.get(), &options, &session_));
  }
  ~Session() { ds_session_release(session_); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  void run(const std::vector<TensorRef> &inputs) {
    std::vector<ds_tensor> views;
    for (const TensorRef &t : inputs)
      views.push_back(t.view());
    check(ds_session_run(session_, views.data(), (int32_t)views.size()));
  }
  /// Runs and returns copies of the outputs in one serialized step: safe
  /// from several threads at once.
  Outputs runOutputs(const std::vector<TensorRef> &inputs) {
    std::vector<ds_tensor> views;
    for (const TensorRef &t : inputs)
      views.push_back(t.view());
    ds_outputs *outputs = nullptr;
    check(ds_session_run_outputs(session_, views.data(), (int32_t)views.size(), &outputs));
    return Outputs(outputs);
  }
  /// Inputs and outputs in device memory (a cuda artifact's session): see
  /// ds_session_run_device. `stream` is a CUstream (nullptr: the default one).
  void runDevice(const std::vector<TensorRef> &inputs, const std::vector<TensorRef> &outputs,
                 void *stream = nullptr) {
    std::vector<ds_tensor> in, out;
    for (const TensorRef &t : inputs)
      in.push_back(t.view());
    for (const TensorRef &t : outputs)
      out.push_back(t.view());
    check(ds_session_run_device(session_, in.data(), (int32_t)in.size(), out.data(),
                                (int32_t)out.size(), stream));
  }
  /// Of the most recent run; valid until the next run.
  ds_tensor output(int i) const {
    ds_tensor t;
    check(ds_session_output(session_, i, &t));
    return t;
  }

  ds_session *get() const { return session_; }

private:
  ds_session *session_ = nullptr;
};

/// Runs the training steps of a model compiled with --gradients and
/// --optimizer (see ds_runtime.h, Training):
///
///   ds::TrainingSession training(model);
///   for (...) {                      // batches in the application's order
///     training.setLearningRate(schedule(training.stepsDone()));
///     double loss = training.step({x, labels}).loss;
///   }
///   training.save("run.ckpt");
class TrainingSession {
public:
  struct StepResult {
    double loss;
    bool applied; ///< false: skipped for non-finite gradients (loss scaling)
  };

  explicit TrainingSession(const Model &model, int numThreads = 0,
                           const ds_loss_scaler *lossScaler = nullptr) {
    ds_training_options options;
    ds_training_options_init(&options);
    options.num_threads = numThreads;
    if (lossScaler)
      options.loss_scaler = *lossScaler;
    check(ds_training_session_create(model.get(), &options, &session_));
  }
  ~TrainingSession() { ds_training_session_release(session_); }
  TrainingSession(const TrainingSession &) = delete;
  TrainingSession &operator=(const TrainingSession &) = delete;

  /// The inputs step() takes, in order.
  std::vector<ds_value_info> batchInputs() const {
    std::vector<ds_value_info> infos(ds_training_session_num_batch_inputs(session_));
    for (size_t i = 0; i < infos.size(); ++i)
      check(ds_training_session_batch_input_info(session_, (int32_t)i, &infos[i]));
    return infos;
  }
  StepResult step(const std::vector<TensorRef> &batch) {
    std::vector<ds_tensor> views;
    for (const TensorRef &t : batch)
      views.push_back(t.view());
    StepResult result{0, false};
    int32_t applied = 0;
    check(ds_training_session_step(session_, views.data(), (int32_t)views.size(), &result.loss,
                                   &applied));
    result.applied = applied != 0;
    return result;
  }

  /// Parameters first, then the optimizer's state.
  struct StateInfo {
    ds_value_info info;
    bool isParameter;
  };
  std::vector<StateInfo> state() const {
    std::vector<StateInfo> infos(ds_training_session_num_state(session_));
    for (size_t i = 0; i < infos.size(); ++i) {
      int32_t isParameter = 0;
      check(ds_training_session_state_info(session_, (int32_t)i, &infos[i].info, &isParameter));
      infos[i].isParameter = isParameter != 0;
    }
    return infos;
  }
  /// A copy of state `name` as elements of T (sizeof(T) must be its dtype's size).
  template <typename T> std::vector<T> read(const std::string &name) const {
    for (const StateInfo &s : state()) {
      if (name != s.info.name)
        continue;
      size_t count = 1;
      for (int32_t d = 0; d < s.info.rank; ++d)
        count *= (size_t)s.info.dims[d];
      std::vector<T> values(count);
      check(ds_training_session_read_state(session_, name.c_str(), values.data(),
                                           count * sizeof(T)));
      return values;
    }
    throw Error(DS_INVALID_ARGUMENT, "no state '" + name + "'");
  }
  void write(const std::string &name, const TensorRef &value) {
    ds_tensor view = value.view();
    check(ds_training_session_write_state(session_, name.c_str(), &view));
  }

  double learningRate() const { return ds_training_session_learning_rate(session_); }
  void setLearningRate(double rate) {
    check(ds_training_session_set_learning_rate(session_, rate));
  }
  int64_t stepsDone() const { return ds_training_session_steps_done(session_); }
  /// Throws when the step does not scale its loss.
  ds_loss_scaler lossScaler() const {
    ds_loss_scaler scaler;
    check(ds_training_session_loss_scaler(session_, &scaler));
    return scaler;
  }
  void save(const std::string &path) { check(ds_training_session_save(session_, path.c_str())); }
  void load(const std::string &path) { check(ds_training_session_load(session_, path.c_str())); }

  ds_training_session *get() const { return session_; }

private:
  ds_training_session *session_ = nullptr;
};

} // namespace ds

#endif // DS_RUNTIME_DS_RUNTIME_HPP
