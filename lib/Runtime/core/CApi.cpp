//===- CApi.cpp - the C API over Program and Session ----------------------===//
#include "core/CApiSupport.h"
#include "core/OutputBlocks.h"
#include "core/Session.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

/// The program is shared by the model handle and every session made from it:
/// whichever is released last frees it (and unmaps the file).
struct ds_model_t {
  std::shared_ptr<const dsrt::Program> program;
};
struct ds_session_t {
  std::shared_ptr<const dsrt::Program> program; ///< declared first: outlives `session`
  std::unique_ptr<dsrt::Executor> session;      ///< the backend of the artifact's target
  /// Serializes runs and reads of the outputs: an executor has one arena and
  /// one set of output buffers, and its worker pool serves one loop at a time.
  mutable std::mutex mutex;
};
/// Copies of one run's outputs, in one 64-byte aligned block (recycled:
/// core/OutputBlocks.h).
struct ds_outputs_t {
  std::vector<std::vector<int64_t>> dims;
  std::vector<ds_tensor> tensors;
  void *block = nullptr;
  size_t capacity = 0;
  ~ds_outputs_t() { dsrt::OutputBlocks::give(block, capacity); }
};

namespace {
using dsrt::capi::guarded;
using dsrt::capi::make;
using dsrt::capi::outOfMemory;
using dsrt::capi::toC;

void fillTensor(const dsrt::Tensor &t, ds_tensor *out) {
  out->dtype = t.dtype;
  out->rank = (int32_t)t.shape.size();
  out->dims = t.shape.data();
  out->data = t.data;
  out->byte_size = t.bytes();
}
void fillInfo(const dsrt::ValueInfo &v, const std::string &name, ds_value_info *out) {
  out->name = name.c_str();
  out->dtype = v.dtype;
  out->rank = (int32_t)v.dims.size();
  out->dims = v.dims.data();
}
} // namespace

extern "C" {

ds_status_code ds_status_get_code(ds_status status) { return status ? status->code : DS_OK; }
const char *ds_status_get_message(ds_status status) {
  return status ? status->message.c_str() : "";
}
void ds_status_release(ds_status status) {
  if (status != &outOfMemory)
    delete status;
}

ds_status ds_model_load(const char *path, ds_model **out_model) {
  if (!path || !out_model)
    return make(DS_INVALID_ARGUMENT, "ds_model_load: path and out_model must not be null");
  *out_model = nullptr;
  return guarded("ds_model_load", [&]() -> ds_status {
    std::unique_ptr<dsrt::Program> program;
    if (ds_status s = toC(dsrt::Program::load(path, program)))
      return s;
    *out_model = new ds_model_t{std::move(program)};
    return nullptr;
  });
}

void ds_model_release(ds_model *model) { delete model; }

int32_t ds_model_num_inputs(const ds_model *model) {
  return model ? (int32_t)model->program->inputs.size() : 0;
}
int32_t ds_model_num_outputs(const ds_model *model) {
  return model ? (int32_t)model->program->outputs.size() : 0;
}
uint64_t ds_model_arena_bytes(const ds_model *model) {
  return model ? model->program->arenaBytes : 0;
}
const char *ds_model_target(const ds_model *model) {
  if (!model)
    return "";
  return model->program->target == DSX_TARGET_CUDA ? "cuda" : "cpu";
}

ds_status ds_model_input_info(const ds_model *model, int32_t index, ds_value_info *out_info) {
  if (!model || !out_info || index < 0 || index >= ds_model_num_inputs(model))
    return make(DS_INVALID_ARGUMENT, "ds_model_input_info: bad model, index or out_info");
  const auto &v = model->program->values[model->program->inputs[index]];
  fillInfo(v, v.name, out_info);
  return nullptr;
}

int32_t ds_model_input_any_rank(const ds_model *model, int32_t index) {
  if (!model || index < 0 || index >= ds_model_num_inputs(model))
    return 0;
  return model->program->values[model->program->inputs[index]].anyRank ? 1 : 0;
}

ds_status ds_model_input_default(const ds_model *model, int32_t index, ds_tensor *out_tensor) {
  if (!model || !out_tensor || index < 0 || index >= ds_model_num_inputs(model))
    return make(DS_INVALID_ARGUMENT, "ds_model_input_default: bad model, index or out_tensor");
  const dsrt::Program &p = *model->program;
  const dsrt::ValueInfo &v = p.values[p.inputs[index]];
  out_tensor->dtype = v.dtype;
  out_tensor->rank = (int32_t)v.dims.size();
  out_tensor->dims = v.dims.data();
  out_tensor->data = v.hasDefault ? const_cast<unsigned char *>(p.constantData(v)) : nullptr;
  out_tensor->byte_size = v.hasDefault ? v.bytes : 0;
  return nullptr;
}

ds_status ds_model_output_info(const ds_model *model, int32_t index, ds_value_info *out_info) {
  if (!model || !out_info || index < 0 || index >= ds_model_num_outputs(model))
    return make(DS_INVALID_ARGUMENT, "ds_model_output_info: bad model, index or out_info");
  const auto &p = *model->program;
  fillInfo(p.values[p.outputs[index]], p.outputNames[index], out_info);
  return nullptr;
}

void ds_session_options_init(ds_session_options *options) {
  if (!options)
    return;
  options->struct_size = sizeof(ds_session_options);
  options->num_threads = 0;
  options->device = 0;
}

ds_status ds_session_create(const ds_model *model, const ds_session_options *options,
                            ds_session **out_session) {
  if (!model || !out_session)
    return make(DS_INVALID_ARGUMENT, "ds_session_create: model and out_session must not be null");
  *out_session = nullptr;
  return guarded("ds_session_create", [&]() -> ds_status {
    // Callers built against an older header pass a shorter struct: take the
    // fields they know, defaults for the rest.
    ds_session_options opts;
    ds_session_options_init(&opts);
    const size_t oldest = offsetof(ds_session_options, device);
    if (options) {
      if (options->struct_size < oldest || options->struct_size > sizeof(ds_session_options))
        return make(DS_INVALID_ARGUMENT, "ds_session_create: options not initialized with "
                                         "ds_session_options_init");
      std::memcpy(&opts, options, options->struct_size);
    }
    if (opts.num_threads < 0 || opts.num_threads > 4096)
      return make(DS_INVALID_ARGUMENT, "ds_session_create: num_threads must be in [0, 4096], got " +
                                           std::to_string(opts.num_threads));
    if (opts.device < 0)
      return make(DS_INVALID_ARGUMENT,
                  "ds_session_create: device must be >= 0, got " + std::to_string(opts.device));
    auto session = std::make_unique<ds_session_t>();
    session->program = model->program;
    const dsrt::Program &program = *session->program;
    if (program.target == DSX_TARGET_CUDA) {
      if (ds_status s = toC(dsrt::createCudaExecutor(program, opts.device, session->session)))
        return s;
    } else {
      int threads = opts.num_threads ? opts.num_threads
                                     : (int)std::max(1u, std::thread::hardware_concurrency());
      std::unique_ptr<dsrt::Session> cpu;
      if (ds_status s = toC(dsrt::Session::create(program, threads, cpu)))
        return s;
      session->session = std::move(cpu);
    }
    *out_session = session.release();
    return nullptr;
  });
}

void ds_session_release(ds_session *session) { delete session; }

namespace {
/// The caller's inputs with every one-element tensor given for an input the
/// model declares without a shape (DSX_VALUE_ANY_RANK) viewed at the rank it
/// was compiled for; `inputs` itself when there is nothing to adapt.
class AdaptedInputs {
public:
  AdaptedInputs(const dsrt::Program &program, const ds_tensor *inputs, int32_t n)
      : inputs_(inputs) {
    if (!inputs || n != (int32_t)program.inputs.size())
      return; // validation reports it
    for (int32_t i = 0; i < n; ++i) {
      const dsrt::ValueInfo &v = program.values[program.inputs[i]];
      const ds_tensor &t = inputs[i];
      if (!v.anyRank || t.rank == (int32_t)v.dims.size() || t.rank < 0 || (t.rank > 0 && !t.dims) ||
          !std::all_of(t.dims, t.dims + t.rank, [](int64_t d) { return d == 1; }))
        continue; // the usual validation reports anything wrong
      if (adapted_.empty()) {
        adapted_.assign(inputs, inputs + n);
        dims_.resize(n);
      }
      dims_[i].assign(v.dims.size(), 1);
      adapted_[i].rank = (int32_t)v.dims.size();
      adapted_[i].dims = dims_[i].data();
    }
  }
  const ds_tensor *get() const { return adapted_.empty() ? inputs_ : adapted_.data(); }

private:
  const ds_tensor *inputs_;
  std::vector<ds_tensor> adapted_;
  std::vector<std::vector<int64_t>> dims_;
};
} // namespace

ds_status ds_session_run(ds_session *session, const ds_tensor *inputs, int32_t num_inputs) {
  if (!session)
    return make(DS_INVALID_ARGUMENT, "ds_session_run: session must not be null");
  return guarded("ds_session_run", [&] {
    std::lock_guard<std::mutex> lock(session->mutex);
    AdaptedInputs adapted(*session->program, inputs, num_inputs);
    return toC(session->session->run(adapted.get(), num_inputs));
  });
}

ds_status ds_session_run_device(ds_session *session, const ds_tensor *inputs, int32_t num_inputs,
                                const ds_tensor *outputs, int32_t num_outputs, void *stream) {
  if (!session)
    return make(DS_INVALID_ARGUMENT, "ds_session_run_device: session must not be null");
  return guarded("ds_session_run_device", [&] {
    std::lock_guard<std::mutex> lock(session->mutex);
    AdaptedInputs adapted(*session->program, inputs, num_inputs);
    return toC(
        session->session->runDevice(adapted.get(), num_inputs, outputs, num_outputs, stream));
  });
}

ds_status ds_session_output(const ds_session *session, int32_t index, ds_tensor *out_tensor) {
  if (!session || !out_tensor)
    return make(DS_INVALID_ARGUMENT, "ds_session_output: session and out_tensor must not be null");
  return guarded("ds_session_output", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    const dsrt::Executor &s = *session->session;
    if (index < 0 || (size_t)index >= s.numOutputs())
      return make(DS_INVALID_ARGUMENT, "output index " + std::to_string(index) +
                                           " is out of range (the model has " +
                                           std::to_string(s.numOutputs()) + " outputs)");
    if (!s.hasRun())
      return make(DS_INVALID_ARGUMENT, "ds_session_output: the session has no outputs: it has "
                                       "not run yet, or its last run failed");
    fillTensor(s.output((size_t)index), out_tensor);
    return nullptr;
  });
}

ds_status ds_session_run_outputs(ds_session *session, const ds_tensor *inputs, int32_t num_inputs,
                                 ds_outputs **out_outputs) {
  if (!session || !out_outputs)
    return make(DS_INVALID_ARGUMENT,
                "ds_session_run_outputs: session and out_outputs must not be null");
  *out_outputs = nullptr;
  return guarded("ds_session_run_outputs", [&]() -> ds_status {
    std::lock_guard<std::mutex> lock(session->mutex);
    const dsrt::Executor &s = *session->session;
    AdaptedInputs adapted(*session->program, inputs, num_inputs);
    if (ds_status st = toC(session->session->run(adapted.get(), num_inputs)))
      return st;
    auto outputs = std::make_unique<ds_outputs_t>();
    size_t total = 0;
    for (size_t i = 0; i < s.numOutputs(); ++i)
      total += dsrt::align64(s.output(i).bytes());
    outputs->block = total ? dsrt::OutputBlocks::take(total, outputs->capacity) : nullptr;
    if (total && !outputs->block)
      return make(DS_RUNTIME_ERROR, "ds_session_run_outputs: cannot allocate " +
                                        std::to_string(total) + " bytes for the outputs");
    outputs->dims.resize(s.numOutputs());
    outputs->tensors.resize(s.numOutputs());
    size_t offset = 0;
    for (size_t i = 0; i < s.numOutputs(); ++i) {
      const dsrt::Tensor &t = s.output(i);
      outputs->dims[i] = t.shape;
      ds_tensor &out = outputs->tensors[i];
      fillTensor(t, &out);
      out.dims = outputs->dims[i].data();
      out.data = static_cast<char *>(outputs->block) + offset;
      if (out.byte_size)
        std::memcpy(out.data, t.data, out.byte_size);
      offset += dsrt::align64(out.byte_size);
    }
    *out_outputs = outputs.release();
    return nullptr;
  });
}

int32_t ds_outputs_count(const ds_outputs *outputs) {
  return outputs ? (int32_t)outputs->tensors.size() : 0;
}

ds_status ds_outputs_get(const ds_outputs *outputs, int32_t index, ds_tensor *out_tensor) {
  if (!outputs || !out_tensor)
    return make(DS_INVALID_ARGUMENT, "ds_outputs_get: outputs and out_tensor must not be null");
  if (index < 0 || index >= ds_outputs_count(outputs))
    return guarded("ds_outputs_get", [&] {
      return make(DS_INVALID_ARGUMENT, "output index " + std::to_string(index) +
                                           " is out of range (there are " +
                                           std::to_string(ds_outputs_count(outputs)) + " outputs)");
    });
  *out_tensor = outputs->tensors[index];
  return nullptr;
}

void ds_outputs_release(ds_outputs *outputs) { delete outputs; }

const char *ds_dtype_name(ds_dtype dtype) { return dsrt::dtypeName(dtype); }
size_t ds_dtype_size(ds_dtype dtype) { return dsrt::dtypeSize(dtype); }

} // extern "C"
