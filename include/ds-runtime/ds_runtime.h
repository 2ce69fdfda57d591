/*===- ds_runtime.h - C API of the ds runtime -----------------------------===*
 *
 * Load a compiled artifact (.dsx), create a session and run it. Every
 * fallible call returns a ds_status: NULL on success, otherwise an object
 * carrying a message that the caller releases with ds_status_release.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DS_RUNTIME_DS_RUNTIME_H
#define DS_RUNTIME_DS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DS_RUNTIME_VERSION_MAJOR 0
#define DS_RUNTIME_VERSION_MINOR 1

typedef enum ds_dtype {
  DS_F32 = 1,
  DS_F64 = 2,
  DS_F16 = 3,
  DS_BF16 = 4,
  DS_I64 = 5,
  DS_I32 = 6,
  DS_I16 = 7,
  DS_I8 = 8,
  DS_U64 = 9,
  DS_U32 = 10,
  DS_U16 = 11,
  DS_U8 = 12,
  DS_BOOL = 13,
  DS_F8E4M3FN = 14,
  DS_F8E5M2 = 15,
  DS_F8E4M3FNUZ = 16,
  DS_F8E5M2FNUZ = 17,
  DS_I4 = 18,
  DS_U4 = 19,
  DS_I2 = 20,
  DS_U2 = 21,
} ds_dtype;

typedef enum ds_status_code {
  DS_OK = 0,
  DS_INVALID_ARGUMENT = 1, /* wrong dtype / rank / dims / count of inputs */
  DS_INVALID_ARTIFACT = 2, /* truncated, corrupted, foreign or wrong-version file */
  DS_IO_ERROR = 3,
  DS_UNSUPPORTED = 4,      /* an op or feature this runtime build cannot run */
  DS_RUNTIME_ERROR = 5,    /* a kernel failed (e.g. index out of range) */
  DS_NO_DEVICE = 6,        /* the artifact needs a device this machine lacks (no driver, no GPU) */
} ds_status_code;

typedef struct ds_status_t *ds_status;
typedef struct ds_model_t ds_model;
typedef struct ds_session_t ds_session;

ds_status_code ds_status_get_code(ds_status status);
const char *ds_status_get_message(ds_status status);
void ds_status_release(ds_status status);

/* A tensor passed to or returned from a session: dims has `rank` entries. */
typedef struct ds_tensor {
  ds_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  void *data;
  size_t byte_size;
} ds_tensor;

/* Description of a model input or output. Pointers stay valid while the model lives;
   a dim of -1 is dynamic. */
typedef struct ds_value_info {
  const char *name;
  ds_dtype dtype;
  int32_t rank;
  const int64_t *dims;
} ds_value_info;

ds_status ds_model_load(const char *path, ds_model **out_model);
void ds_model_release(ds_model *model);
int32_t ds_model_num_inputs(const ds_model *model);
int32_t ds_model_num_outputs(const ds_model *model);
ds_status ds_model_input_info(const ds_model *model, int32_t index, ds_value_info *out_info);
ds_status ds_model_output_info(const ds_model *model, int32_t index, ds_value_info *out_info);
/* Bytes of the activation arena the compiler planned. */
uint64_t ds_model_arena_bytes(const ds_model *model);
/* What the artifact was compiled for, "cpu" or "cuda"; a session runs on that backend. */
const char *ds_model_target(const ds_model *model);

/* Fields are only ever appended; struct_size tells the runtime which ones the
   caller knows (older callers get the defaults for the rest). */
typedef struct ds_session_options {
  uint32_t struct_size; /* set by ds_session_options_init */
  int32_t num_threads;  /* 0 = all hardware threads (cpu backend) */
  int32_t device;       /* CUDA device ordinal for a cuda artifact (default 0) */
} ds_session_options;

void ds_session_options_init(ds_session_options *options);
ds_status ds_session_create(const ds_model *model, const ds_session_options *options,
                            ds_session **out_session);
void ds_session_release(ds_session *session);

/* Runs the model. `inputs` are in the model's input order and are validated
   (count, dtype, rank, dims, byte size) before anything runs. Outputs stay
   valid until the next run or the session's release. */
ds_status ds_session_run(ds_session *session, const ds_tensor *inputs, int32_t num_inputs);
ds_status ds_session_output(const ds_session *session, int32_t index, ds_tensor *out_tensor);

const char *ds_dtype_name(ds_dtype dtype);
size_t ds_dtype_size(ds_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif /* DS_RUNTIME_DS_RUNTIME_H */
