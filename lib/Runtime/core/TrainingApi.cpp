//===- TrainingApi.cpp - the C API's training session ---------------------===//
//
// A training session is a plain session of a training-step artifact plus the
// tensors the step carries over (ds_artifact_format.h, DSX_TRAIN_*): it
// builds each run's inputs from the caller's batch and its own state, and
// takes the `.next` outputs back as the state when the step applies. It
// reads the artifact only through the public C API.
//
//===----------------------------------------------------------------------===//
#include "core/CApiSupport.h"
#include "core/Checkpoint.h"
#include "cpu/KernelUtils.h"

#include "ds-runtime/ds_artifact_format.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace {
using dsrt::capi::guarded;
using dsrt::capi::make;
using dsrt::capi::toC;

/// An input or output's description, owned (not pointers into the model).
struct Signature {
  std::string name;
  ds_dtype dtype = DS_F32;
  std::vector<int64_t> dims;

  static Signature of(const ds_value_info &info) {
    return {info.name, info.dtype, std::vector<int64_t>(info.dims, info.dims + info.rank)};
  }
  ds_value_info view() const { return {name.c_str(), dtype, (int32_t)dims.size(), dims.data()}; }
  bool isStatic() const {
    return std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
  }
  uint64_t elements() const {
    uint64_t n = 1;
    for (int64_t d : dims)
      n *= (uint64_t)d;
    return n;
  }
  uint64_t bytes() const { return elements() * ds_dtype_size(dtype); }
};

/// One tensor the step carries over, in 64-byte aligned session memory.
struct State {
  Signature signature;
  int32_t input = -1;      ///< model input index
  int32_t nextOutput = -1; ///< model output index of `<name>.next`
  bool isParameter = true;
  std::shared_ptr<void> data;

  uint64_t bytes() const { return signature.bytes(); }
};

bool isScalarFloat(const Signature &s) {
  return s.isStatic() && s.elements() == 1 &&
         (s.dtype == DS_F32 || s.dtype == DS_F64 || s.dtype == DS_F16 || s.dtype == DS_BF16);
}

void encodeScalar(ds_dtype dtype, double value, unsigned char *out) {
  float f = (float)value;
  uint16_t h;
  switch (dtype) {
  case DS_F64:
    std::memcpy(out, &value, 8);
    return;
  case DS_F16:
    h = dsrt::cpu::floatToHalf(f);
    std::memcpy(out, &h, 2);
    return;
  case DS_BF16:
    h = dsrt::cpu::floatToBf16(f);
    std::memcpy(out, &h, 2);
    return;
  default:
    std::memcpy(out, &f, 4);
  }
}

double decodeScalar(ds_dtype dtype, const void *data) {
  float f;
  double d;
  uint16_t h;
  switch (dtype) {
  case DS_F64:
    std::memcpy(&d, data, 8);
    return d;
  case DS_F16:
    std::memcpy(&h, data, 2);
    return dsrt::cpu::halfToFloat(h);
  case DS_BF16:
    std::memcpy(&h, data, 2);
    return dsrt::cpu::bf16ToFloat(h);
  default:
    std::memcpy(&f, data, 4);
    return f;
  }
}

std::shared_ptr<void> allocate(uint64_t bytes) {
  void *p = std::aligned_alloc(64, std::max<uint64_t>(64, (bytes + 63) / 64 * 64));
  if (!p)
    throw std::bad_alloc();
  return std::shared_ptr<void>(p, std::free);
}

/// 0 < minimum <= scale < inf, growth_interval > 0, counts not negative.
bool validScaler(const ds_loss_scaler &l) {
  return l.scale > 0 && std::isfinite(l.scale) && l.minimum > 0 && l.minimum <= l.scale &&
         l.growth_interval > 0 && l.clean_steps >= 0 && l.skipped_steps >= 0;
}

/// A scalar input the session feeds itself (learning rate, step, loss scale).
struct ScalarInput {
  int32_t input = -1;
  ds_dtype dtype = DS_F32;
  alignas(8) unsigned char bytes[8] = {};
};
} // namespace

struct ds_training_session_t {
  ds_session *session = nullptr;
  std::vector<Signature> inputs, outputs;
  std::vector<int32_t> batchInputs; ///< model input index of each batch input
  std::vector<State> state;         ///< parameters first, then optimizer state
  std::map<std::string, size_t> stateByName;
  ScalarInput learningRate, stepNumber, lossScale;
  int32_t lossOutput = -1, finiteOutput = -1;
  double rate = 0;
  uint64_t stepsDone = 0;
  ds_loss_scaler scaler{};
  std::mutex mutex;

  ~ds_training_session_t() { ds_session_release(session); }
  bool scalesLoss() const { return lossScale.input >= 0; }

  /// Reads the signature of `model`; an error naming what is not there.
  ds_status describe(const ds_model *model);
  ds_status step(const ds_tensor *batch, int32_t numBatch, double *loss, int32_t *applied);
  ds_status save(const char *path);
  ds_status load(const char *path);
  const State *find(const char *name) const {
    auto it = name ? stateByName.find(name) : stateByName.end();
    return it == stateByName.end() ? nullptr : &state[it->second];
  }
};

ds_status ds_training_session_t::describe(const ds_model *model) {
  for (int32_t i = 0; i < ds_model_num_inputs(model); ++i) {
    ds_value_info info;
    if (ds_status s = ds_model_input_info(model, i, &info))
      return s;
    inputs.push_back(Signature::of(info));
  }
  std::map<std::string, int32_t> outputByName;
  for (int32_t i = 0; i < ds_model_num_outputs(model); ++i) {
    ds_value_info info;
    if (ds_status s = ds_model_output_info(model, i, &info))
      return s;
    outputs.push_back(Signature::of(info));
    outputByName[info.name] = i;
  }
  auto notTraining = [](const std::string &what) {
    return make(DS_INVALID_ARGUMENT, "ds_training_session_create: not a training step (compile "
                                     "with --gradients --optimizer=sgd|adamw): " +
                                         what);
  };
  auto output = outputByName.find(DSX_TRAIN_LOSS);
  if (output == outputByName.end() || !isScalarFloat(outputs[output->second]))
    return notTraining("no one-element float output '" DSX_TRAIN_LOSS "'");
  lossOutput = output->second;
  std::vector<State> carried;
  for (int32_t i = 0; i < (int32_t)inputs.size(); ++i) {
    const Signature &in = inputs[i];
    ScalarInput *scalar = in.name == DSX_TRAIN_LEARNING_RATE ? &learningRate
                          : in.name == DSX_TRAIN_STEP        ? &stepNumber
                          : in.name == DSX_TRAIN_LOSS_SCALE  ? &lossScale
                                                             : nullptr;
    ds_tensor value;
    if (ds_status s = ds_model_input_default(model, i, &value))
      return s;
    if (scalar) {
      if (!isScalarFloat(in))
        return notTraining("input '" + in.name + "' is not a one-element float");
      scalar->input = i;
      scalar->dtype = in.dtype;
      if (scalar == &learningRate && value.data)
        rate = decodeScalar(in.dtype, value.data);
      continue;
    }
    auto next = outputByName.find(in.name + DSX_TRAIN_NEXT_SUFFIX);
    if (!value.data || next == outputByName.end()) {
      batchInputs.push_back(i);
      continue;
    }
    const Signature &out = outputs[next->second];
    if (!in.isStatic())
      return make(DS_INVALID_ARGUMENT, "ds_training_session_create: state '" + in.name +
                                           "' has dynamic dims; a training session carries "
                                           "fixed-shape state");
    if (out.dtype != in.dtype || out.dims != in.dims)
      return notTraining("output '" + out.name + "' differs from input '" + in.name + "'");
    if (value.byte_size != in.bytes())
      return make(DS_INVALID_ARTIFACT, "ds_training_session_create: the default of '" + in.name +
                                           "' has " + std::to_string(value.byte_size) +
                                           " bytes, its dims " + std::to_string(in.bytes()));
    State st{in, i, next->second, true, allocate(in.bytes())};
    std::memcpy(st.data.get(), value.data, in.bytes());
    carried.push_back(std::move(st));
  }
  if (learningRate.input < 0)
    return notTraining("no input '" DSX_TRAIN_LEARNING_RATE "'");
  if (carried.empty())
    return notTraining("no input X with a default and an output 'X" DSX_TRAIN_NEXT_SUFFIX "'");
  if (scalesLoss()) {
    output = outputByName.find(DSX_TRAIN_GRADS_FINITE);
    if (output == outputByName.end() || !isScalarFloat(outputs[output->second]))
      return notTraining("it scales the loss but has no output '" DSX_TRAIN_GRADS_FINITE "'");
    finiteOutput = output->second;
  }
  // Optimizer state is named after its parameter: <parameter><suffix>.
  std::set<std::string> names;
  for (const State &s : carried)
    names.insert(s.signature.name);
  for (State &s : carried)
    for (const char *suffix :
         {DSX_TRAIN_MOMENTUM_SUFFIX, DSX_TRAIN_ADAM_M_SUFFIX, DSX_TRAIN_ADAM_V_SUFFIX}) {
      const std::string &n = s.signature.name;
      size_t len = std::strlen(suffix);
      if (n.size() > len && n.compare(n.size() - len, len, suffix) == 0 &&
          names.count(n.substr(0, n.size() - len)))
        s.isParameter = false;
    }
  for (bool parameters : {true, false})
    for (State &s : carried)
      if (s.isParameter == parameters)
        state.push_back(std::move(s));
  for (size_t i = 0; i < state.size(); ++i)
    stateByName[state[i].signature.name] = i;
  return nullptr;
}

ds_status ds_training_session_t::step(const ds_tensor *batch, int32_t numBatch, double *loss,
                                      int32_t *applied) {
  if (numBatch != (int32_t)batchInputs.size() || (numBatch && !batch))
    return make(DS_INVALID_ARGUMENT, "ds_training_session_step: the step takes " +
                                         std::to_string(batchInputs.size()) +
                                         " batch inputs, got " + std::to_string(numBatch));
  std::vector<ds_tensor> feeds(inputs.size());
  for (int32_t i = 0; i < numBatch; ++i)
    feeds[batchInputs[i]] = batch[i];
  for (const State &s : state)
    feeds[s.input] = ds_tensor{s.signature.dtype, (int32_t)s.signature.dims.size(),
                               s.signature.dims.data(), s.data.get(), s.bytes()};
  auto scalar = [&](ScalarInput &in, double value) {
    if (in.input < 0)
      return;
    encodeScalar(in.dtype, value, in.bytes);
    const Signature &sig = inputs[in.input];
    feeds[in.input] = ds_tensor{in.dtype, (int32_t)sig.dims.size(), sig.dims.data(), in.bytes,
                                ds_dtype_size(in.dtype)};
  };
  scalar(learningRate, rate);
  scalar(stepNumber, (double)(stepsDone + 1));
  scalar(lossScale, scaler.scale);
  if (ds_status s = ds_session_run(session, feeds.data(), (int32_t)feeds.size()))
    return s;
  auto output = [&](int32_t index, ds_tensor &out) {
    return ds_session_output(session, index, &out);
  };
  ds_tensor value;
  if (ds_status s = output(lossOutput, value))
    return s;
  double lossValue = decodeScalar(value.dtype, value.data);
  bool finite = true;
  if (finiteOutput >= 0) {
    if (ds_status s = output(finiteOutput, value))
      return s;
    finite = decodeScalar(value.dtype, value.data) > 0.5;
  }
  // Every `.next` output looked up and checked once, before anything changes.
  std::vector<const void *> next;
  for (State &s : state) {
    if (ds_status st = output(s.nextOutput, value))
      return st;
    next.push_back(value.data);
    if (value.byte_size != s.bytes())
      return make(DS_RUNTIME_ERROR, "ds_training_session_step: output '" + s.signature.name +
                                        DSX_TRAIN_NEXT_SUFFIX "' has " +
                                        std::to_string(value.byte_size) + " bytes, expected " +
                                        std::to_string(s.bytes()));
  }
  // Nothing fails from here on.
  if (scalesLoss())
    ds_loss_scaler_update(&scaler, finite);
  // Skipped: the program returned the old state; nothing to take back.
  if (finite) {
    for (size_t i = 0; i < state.size(); ++i)
      std::memcpy(state[i].data.get(), next[i], state[i].bytes());
    ++stepsDone;
  }
  if (loss)
    *loss = lossValue;
  if (applied)
    *applied = finite;
  return nullptr;
}

ds_status ds_training_session_t::save(const char *path) {
  dsrt::Checkpoint c;
  c.stepsDone = stepsDone;
  c.learningRate = rate;
  c.lossScaling = scalesLoss();
  c.scaler = scaler;
  for (const State &s : state) {
    dsrt::CheckpointTensor t;
    t.name = s.signature.name;
    t.dtype = s.signature.dtype;
    t.dims = s.signature.dims;
    t.data = s.data.get();
    t.byteSize = s.bytes();
    c.tensors.push_back(std::move(t));
  }
  return toC(dsrt::writeCheckpoint(path, c));
}

ds_status ds_training_session_t::load(const char *path) {
  dsrt::Checkpoint c;
  if (ds_status s = toC(dsrt::readCheckpoint(path, c)))
    return s;
  auto refuse = [&](const std::string &why) {
    return make(DS_INVALID_ARTIFACT, std::string(path) + ": " + why);
  };
  if (c.lossScaling != scalesLoss())
    return refuse(std::string("saved ") + (c.lossScaling ? "with" : "without") +
                  " loss scaling, this session runs " + (scalesLoss() ? "with" : "without") +
                  " it");
  std::set<std::string> missing, unexpected;
  for (const State &s : state)
    missing.insert(s.signature.name);
  for (const dsrt::CheckpointTensor &t : c.tensors)
    if (!missing.erase(t.name))
      unexpected.insert(t.name);
  if (!missing.empty() || !unexpected.empty() || c.tensors.size() != state.size()) {
    auto list = [](const std::set<std::string> &names) {
      std::string text;
      size_t shown = 0;
      for (const std::string &n : names) {
        if (shown++ == 5)
          return text + ", ...";
        text += (text.empty() ? "'" : ", '") + n + "'";
      }
      return text;
    };
    return refuse("another model's checkpoint (missing [" + list(missing) + "], unexpected [" +
                  list(unexpected) + "])");
  }
  for (const dsrt::CheckpointTensor &t : c.tensors) {
    const State &s = state[stateByName[t.name]];
    if (t.dtype != s.signature.dtype || t.dims != s.signature.dims || t.bytes.size() != s.bytes())
      return refuse("'" + t.name + "' is " + ds_dtype_name(t.dtype) +
                    dsrt::cpu::shapeText(t.dims) + ", the model's is " +
                    ds_dtype_name(s.signature.dtype) + dsrt::cpu::shapeText(s.signature.dims));
  }
  if (!std::isfinite(c.learningRate))
    return refuse("the learning rate is not finite");
  if (c.lossScaling && !validScaler(c.scaler))
    return refuse("the loss scaler's state is out of range");
  // Validated: now take everything.
  for (const dsrt::CheckpointTensor &t : c.tensors)
    std::memcpy(state[stateByName[t.name]].data.get(), t.bytes.data(), t.bytes.size());
  stepsDone = c.stepsDone;
  rate = c.learningRate;
  if (c.lossScaling)
    scaler = c.scaler;
  return nullptr;
}

extern "C" {

void ds_loss_scaler_init(ds_loss_scaler *scaler, double initial, int64_t growth_interval,
                         double minimum) {
  if (scaler)
    *scaler = ds_loss_scaler{initial, minimum, growth_interval, 0, 0};
}

void ds_loss_scaler_update(ds_loss_scaler *scaler, int32_t finite) {
  if (!scaler)
    return;
  if (!finite) {
    scaler->scale = std::max(scaler->minimum, scaler->scale / 2);
    scaler->clean_steps = 0;
    ++scaler->skipped_steps;
    return;
  }
  if (++scaler->clean_steps >= scaler->growth_interval && scaler->growth_interval > 0) {
    scaler->scale *= 2;
    scaler->clean_steps = 0;
  }
}

void ds_training_options_init(ds_training_options *options) {
  if (!options)
    return;
  options->struct_size = sizeof(ds_training_options);
  options->num_threads = 0;
  ds_loss_scaler_init(&options->loss_scaler, 65536.0, 2000, 1.0);
}

ds_status ds_training_session_create(const ds_model *model, const ds_training_options *options,
                                     ds_training_session **out_session) {
  if (!model || !out_session)
    return make(DS_INVALID_ARGUMENT,
                "ds_training_session_create: model and out_session must not be null");
  *out_session = nullptr;
  return guarded("ds_training_session_create", [&]() -> ds_status {
    ds_training_options opts;
    ds_training_options_init(&opts);
    // Callers built against an older header pass a shorter struct: take the
    // fields they know, defaults for the rest (fields are only appended).
    const size_t oldest = offsetof(ds_training_options, loss_scaler) + sizeof(ds_loss_scaler);
    if (options) {
      if (options->struct_size < oldest || options->struct_size > sizeof(ds_training_options))
        return make(DS_INVALID_ARGUMENT, "ds_training_session_create: options not initialized "
                                         "with ds_training_options_init");
      std::memcpy(&opts, options, options->struct_size);
    }
    const ds_loss_scaler &l = opts.loss_scaler;
    if (!validScaler(l))
      return make(DS_INVALID_ARGUMENT,
                  "ds_training_session_create: the loss scaler needs 0 < minimum <= scale < inf "
                  "and growth_interval > 0");
    auto training = std::make_unique<ds_training_session_t>();
    if (ds_status s = training->describe(model))
      return s;
    training->scaler = l;
    ds_session_options sessionOptions;
    ds_session_options_init(&sessionOptions);
    sessionOptions.num_threads = opts.num_threads;
    if (ds_status s = ds_session_create(model, &sessionOptions, &training->session))
      return s;
    *out_session = training.release();
    return nullptr;
  });
}

void ds_training_session_release(ds_training_session *session) { delete session; }

int32_t ds_training_session_num_batch_inputs(const ds_training_session *session) {
  return session ? (int32_t)session->batchInputs.size() : 0;
}

ds_status ds_training_session_batch_input_info(const ds_training_session *session, int32_t index,
                                               ds_value_info *out_info) {
  if (!session || !out_info || index < 0 || index >= ds_training_session_num_batch_inputs(session))
    return make(DS_INVALID_ARGUMENT,
                "ds_training_session_batch_input_info: bad session, index or out_info");
  *out_info = session->inputs[session->batchInputs[index]].view();
  return nullptr;
}

ds_status ds_training_session_step(ds_training_session *session, const ds_tensor *batch,
                                   int32_t num_batch, double *out_loss, int32_t *out_applied) {
  if (!session)
    return make(DS_INVALID_ARGUMENT, "ds_training_session_step: session must not be null");
  return guarded("ds_training_session_step", [&] {
    std::lock_guard<std::mutex> lock(session->mutex);
    return session->step(batch, num_batch, out_loss, out_applied);
  });
}

int32_t ds_training_session_num_state(const ds_training_session *session) {
  return session ? (int32_t)session->state.size() : 0;
}

ds_status ds_training_session_state_info(const ds_training_session *session, int32_t index,
                                         ds_value_info *out_info, int32_t *out_is_parameter) {
  if (!session || !out_info || index < 0 || index >= ds_training_session_num_state(session))
    return make(DS_INVALID_ARGUMENT,
                "ds_training_session_state_info: bad session, index or out_info");
  *out_info = session->state[index].signature.view();
  if (out_is_parameter)
    *out_is_parameter = session->state[index].isParameter;
  return nullptr;
}

ds_status ds_training_session_read_state(ds_training_session *session, const char *name,
                                         void *data, size_t byte_size) {
  if (!session || (!data && byte_size))
    return make(DS_INVALID_ARGUMENT, "ds_training_session_read_state: bad session or data");
  return guarded("ds_training_session_read_state", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    const State *s = session->find(name);
    if (!s)
      return make(DS_INVALID_ARGUMENT, std::string("ds_training_session_read_state: no state '") +
                                           (name ? name : "(null)") + "'");
    if (byte_size != s->bytes())
      return make(DS_INVALID_ARGUMENT, "ds_training_session_read_state: '" + s->signature.name +
                                           "' has " + std::to_string(s->bytes()) +
                                           " bytes, the buffer " + std::to_string(byte_size));
    std::memcpy(data, s->data.get(), byte_size);
    return nullptr;
  });
}

ds_status ds_training_session_write_state(ds_training_session *session, const char *name,
                                          const ds_tensor *value) {
  if (!session || !value)
    return make(DS_INVALID_ARGUMENT, "ds_training_session_write_state: bad session or value");
  return guarded("ds_training_session_write_state", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    const State *s = session->find(name);
    if (!s)
      return make(DS_INVALID_ARGUMENT, std::string("ds_training_session_write_state: no state '") +
                                           (name ? name : "(null)") + "'");
    const Signature &sig = s->signature;
    if (value->rank != (int32_t)sig.dims.size() || (value->rank > 0 && !value->dims))
      return make(DS_INVALID_ARGUMENT, "ds_training_session_write_state: '" + sig.name +
                                           "' has rank " + std::to_string(sig.dims.size()) +
                                           ", the value " + std::to_string(value->rank) +
                                           (value->rank > 0 && !value->dims ? " with no dims" : ""));
    std::vector<int64_t> dims(value->dims, value->dims + value->rank);
    if (value->dtype != sig.dtype || dims != sig.dims || value->byte_size != s->bytes() ||
        (!value->data && value->byte_size))
      return make(DS_INVALID_ARGUMENT,
                  "ds_training_session_write_state: '" + sig.name + "' is " +
                      ds_dtype_name(sig.dtype) + dsrt::cpu::shapeText(sig.dims) + ", not " +
                      ds_dtype_name(value->dtype) + dsrt::cpu::shapeText(dims) + " of " +
                      std::to_string(value->byte_size) + " bytes");
    std::memcpy(s->data.get(), value->data, value->byte_size);
    return nullptr;
  });
}

double ds_training_session_learning_rate(ds_training_session *session) {
  if (!session)
    return 0;
  try {
    std::lock_guard<std::mutex> lock(session->mutex);
    return session->rate;
  } catch (...) { // a failing mutex: no exception leaves the C API
    return std::nan("");
  }
}

ds_status ds_training_session_set_learning_rate(ds_training_session *session, double rate) {
  if (!session || !std::isfinite(rate))
    return make(DS_INVALID_ARGUMENT,
                "ds_training_session_set_learning_rate: bad session or a non-finite rate");
  return guarded("ds_training_session_set_learning_rate", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    session->rate = rate;
    return nullptr;
  });
}

int64_t ds_training_session_steps_done(ds_training_session *session) {
  if (!session)
    return 0;
  try {
    std::lock_guard<std::mutex> lock(session->mutex);
    return (int64_t)session->stepsDone;
  } catch (...) { // a failing mutex: no exception leaves the C API
    return -1;
  }
}

ds_status ds_training_session_loss_scaler(ds_training_session *session,
                                          ds_loss_scaler *out_scaler) {
  if (!session || !out_scaler)
    return make(DS_INVALID_ARGUMENT, "ds_training_session_loss_scaler: bad session or out_scaler");
  return guarded("ds_training_session_loss_scaler", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    if (!session->scalesLoss())
      return make(DS_INVALID_ARGUMENT, "ds_training_session_loss_scaler: the step does not "
                                       "scale its loss (compile with fp16 loss scaling)");
    *out_scaler = session->scaler;
    return nullptr;
  });
}

ds_status ds_training_session_save(ds_training_session *session, const char *path) {
  if (!session || !path)
    return make(DS_INVALID_ARGUMENT, "ds_training_session_save: session and path must not be null");
  return guarded("ds_training_session_save", [&] {
    std::lock_guard<std::mutex> lock(session->mutex);
    return session->save(path);
  });
}

ds_status ds_training_session_load(ds_training_session *session, const char *path) {
  if (!session || !path)
    return make(DS_INVALID_ARGUMENT, "ds_training_session_load: session and path must not be null");
  return guarded("ds_training_session_load", [&] {
    std::lock_guard<std::mutex> lock(session->mutex);
    return session->load(path);
  });
}

} // extern "C"
