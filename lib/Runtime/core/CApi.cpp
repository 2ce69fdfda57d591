//===- CApi.cpp - the C API over Program and Session ----------------------===//
#include "core/Session.h"

#include <thread>

struct ds_status_t {
  ds_status_code code;
  std::string message;
};
struct ds_model_t {
  std::unique_ptr<dsrt::Program> program;
};
struct ds_session_t {
  std::unique_ptr<dsrt::Session> session;
};

namespace {
ds_status make(ds_status_code code, std::string message) {
  return new ds_status_t{code, std::move(message)};
}
ds_status toC(const dsrt::Status &s) {
  return s.ok() ? nullptr : make(s.code(), s.message());
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
void ds_status_release(ds_status status) { delete status; }

ds_status ds_model_load(const char *path, ds_model **out_model) {
  if (!path || !out_model)
    return make(DS_INVALID_ARGUMENT, "ds_model_load: path and out_model must not be null");
  *out_model = nullptr;
  auto model = std::make_unique<ds_model_t>();
  if (ds_status s = toC(dsrt::Program::load(path, model->program)))
    return s;
  *out_model = model.release();
  return nullptr;
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

ds_status ds_model_input_info(const ds_model *model, int32_t index, ds_value_info *out_info) {
  if (!model || !out_info || index < 0 || index >= ds_model_num_inputs(model))
    return make(DS_INVALID_ARGUMENT, "ds_model_input_info: bad model, index or out_info");
  const auto &v = model->program->values[model->program->inputs[index]];
  fillInfo(v, v.name, out_info);
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
}

ds_status ds_session_create(const ds_model *model, const ds_session_options *options,
                            ds_session **out_session) {
  if (!model || !out_session)
    return make(DS_INVALID_ARGUMENT, "ds_session_create: model and out_session must not be null");
  *out_session = nullptr;
  ds_session_options defaults;
  ds_session_options_init(&defaults);
  if (!options)
    options = &defaults;
  if (options->struct_size != sizeof(ds_session_options))
    return make(DS_INVALID_ARGUMENT, "ds_session_create: options not initialized with "
                                     "ds_session_options_init");
  if (options->num_threads < 0 || options->num_threads > 4096)
    return make(DS_INVALID_ARGUMENT, "ds_session_create: num_threads must be in [0, 4096], got " +
                                         std::to_string(options->num_threads));
  int threads = options->num_threads ? options->num_threads
                                     : (int)std::max(1u, std::thread::hardware_concurrency());
  auto session = std::make_unique<ds_session_t>();
  session->session = std::make_unique<dsrt::Session>(*model->program, threads);
  if (!session->session->valid())
    return make(DS_RUNTIME_ERROR, "cannot allocate the " +
                                      std::to_string(model->program->arenaBytes) +
                                      "-byte activation arena");
  *out_session = session.release();
  return nullptr;
}

void ds_session_release(ds_session *session) { delete session; }

ds_status ds_session_run(ds_session *session, const ds_tensor *inputs, int32_t num_inputs) {
  if (!session)
    return make(DS_INVALID_ARGUMENT, "ds_session_run: session must not be null");
  return toC(session->session->run(inputs, num_inputs));
}

ds_status ds_session_output(const ds_session *session, int32_t index, ds_tensor *out_tensor) {
  if (!session || !out_tensor)
    return make(DS_INVALID_ARGUMENT, "ds_session_output: session and out_tensor must not be null");
  const dsrt::Session &s = *session->session;
  if (index < 0 || (size_t)index >= s.numOutputs())
    return make(DS_INVALID_ARGUMENT, "output index " + std::to_string(index) +
                                         " is out of range (the model has " +
                                         std::to_string(s.numOutputs()) + " outputs)");
  if (!s.hasRun())
    return make(DS_INVALID_ARGUMENT, "ds_session_output: the session has not run yet");
  const dsrt::Tensor &t = s.output((size_t)index);
  out_tensor->dtype = t.dtype;
  out_tensor->rank = (int32_t)t.shape.size();
  out_tensor->dims = t.shape.data();
  out_tensor->data = t.data;
  out_tensor->byte_size = t.bytes();
  return nullptr;
}

const char *ds_dtype_name(ds_dtype dtype) { return dsrt::dtypeName(dtype); }
size_t ds_dtype_size(ds_dtype dtype) { return dsrt::dtypeSize(dtype); }

} // extern "C"
