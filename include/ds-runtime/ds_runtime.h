/*===- ds_runtime.h - C API of the ds runtime -----------------------------===*
 *
 * Load a compiled artifact (.dsx), create a session and run it. Every
 * fallible call returns a ds_status: NULL on success, otherwise an object
 * carrying a message that the caller releases with ds_status_release. No
 * call lets a C++ exception escape.
 *
 * Lifetimes. A model is reference counted: ds_model_release may be called
 * while sessions created from it live; the model's data (the mapped file,
 * its constants, the value descriptions) is freed when the model handle and
 * the last of its sessions are released. Every handle (model, session,
 * outputs, status) is released exactly once, and not used afterwards.
 *
 * Threads. A model may be used from any number of threads (it is read
 * only), ds_session_create and ds_session_release included. One session may
 * be shared by many threads: its runs are serialized by a mutex inside the
 * session (they never overlap, because the session has one activation arena
 * and one worker pool); a caller waits while another thread's run is in
 * progress. For runs that proceed in parallel, create one session per thread
 * from the same model (they share its constants). What ds_session_output
 * returns belongs to the session's last run (none when that run failed), so the
 * pair ds_session_run + ds_session_output is only meaningful when one thread
 * at a time uses the session (or the caller holds its own lock across both).
 * From several threads, call ds_session_run_outputs: it runs and copies the
 * outputs in one serialized step, into an object the caller owns.
 * ds_session_release must not race with other calls on the same session.
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
typedef struct ds_outputs_t ds_outputs;

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

/* Description of a model input or output. Pointers stay valid while the model or a
   session created from it lives; a dim of -1 is dynamic. Names are unique among the
   inputs and among the outputs, and never contain a NUL byte (the loader refuses such
   artifacts with DS_INVALID_ARTIFACT). */
typedef struct ds_value_info {
  const char *name;
  ds_dtype dtype;
  int32_t rank;
  const int64_t *dims;
} ds_value_info;

ds_status ds_model_load(const char *path, ds_model **out_model);
/* Releases the caller's handle; sessions created from the model stay usable
   (see Lifetimes above). */
void ds_model_release(ds_model *model);
int32_t ds_model_num_inputs(const ds_model *model);
int32_t ds_model_num_outputs(const ds_model *model);
ds_status ds_model_input_info(const ds_model *model, int32_t index, ds_value_info *out_info);
ds_status ds_model_output_info(const ds_model *model, int32_t index, ds_value_info *out_info);
/* 1 when input `index` is declared without a shape in the model (compiled at the rank
   its uses need, e.g. a scalar Clip bound): a run may then also pass it at another rank
   when it holds one element (dims all 1). 0 otherwise, or for a bad model or index. */
int32_t ds_model_input_any_rank(const ds_model *model, int32_t index);
/* An input with a default value (an ONNX initializer that is also a graph input, which
   the caller may override): fills out_tensor with the default and returns NULL. Its data
   is read-only and valid while the model lives; it is NULL (byte_size 0) when the input
   has no default. A caller without its own value passes this tensor to ds_session_run. */
ds_status ds_model_input_default(const ds_model *model, int32_t index, ds_tensor *out_tensor);
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
/* Creates a session; it keeps the model's data alive. Fails with a status (e.g.
   "cannot start worker thread 37 of 64: Resource temporarily unavailable; use fewer
   threads", or an arena that cannot be allocated), having freed what it started. */
ds_status ds_session_create(const ds_model *model, const ds_session_options *options,
                            ds_session **out_session);
void ds_session_release(ds_session *session);

/* Runs the model. `inputs` are in the model's input order and are validated
   (count, dtype, rank, dims, byte size) before anything runs; they are only
   read, and not used after the call returns. Serialized with the session's
   other runs (see Threads above). */
ds_status ds_session_run(ds_session *session, const ds_tensor *inputs, int32_t num_inputs);
/* Output `index` of the session's last run. out_tensor->data is writable
   memory owned by the session, also for an output that is a compile-time
   constant or a graph input (those are copied, never pointers into the read-only
   artifact or the caller's input); it stays valid until the session's next run
   or its release. Fails before the first run, and after a run that failed
   once it had started (its steps may have overwritten the earlier outputs); a
   run refused for its inputs (count, dtype, shape, size) leaves them. */
ds_status ds_session_output(const ds_session *session, int32_t index, ds_tensor *out_tensor);

/* Runs the model on tensors in device memory (a session of an artifact compiled
   with --target=cuda; a cpu session gives DS_UNSUPPORTED). inputs[i].data and
   outputs[i].data are device pointers (CUdeviceptr) on the session's device,
   16-byte aligned; inputs are validated as in ds_session_run, outputs must have
   the model's dtypes, dims and byte sizes, and are written in place. The run is
   ordered after the work `stream` (a CUstream; NULL: the legacy default stream)
   has queued and before the work it queues next, and the call returns without
   waiting for it, as a CUDA library call does. The steps read the inputs and
   write the outputs where they are (no copies; outputs must not overlap the
   inputs or each other); a later call with other
   pointers re-binds the steps and captures their graph again, so keep buffers
   fixed when calling in a loop. ds_session_output is unavailable after such a
   run (it holds the outputs of host runs). */
ds_status ds_session_run_device(ds_session *session, const ds_tensor *inputs, int32_t num_inputs,
                                const ds_tensor *outputs, int32_t num_outputs, void *stream);

/* Runs and hands back the run's outputs as a caller-owned object holding copies
   of them, in one serialized step: safe to call concurrently on one session.
   On failure *out_outputs is NULL. */
ds_status ds_session_run_outputs(ds_session *session, const ds_tensor *inputs, int32_t num_inputs,
                                 ds_outputs **out_outputs);
/* The number of outputs (the model's output count); 0 for NULL. */
int32_t ds_outputs_count(const ds_outputs *outputs);
/* out_tensor's dims and data point into `outputs` (data is writable, 64-byte
   aligned), valid until ds_outputs_release. Independent of the session: it may
   be released before or after the outputs. */
ds_status ds_outputs_get(const ds_outputs *outputs, int32_t index, ds_tensor *out_tensor);
void ds_outputs_release(ds_outputs *outputs);

const char *ds_dtype_name(ds_dtype dtype);
size_t ds_dtype_size(ds_dtype dtype);

/*===----------------------------------------------------------------------===*
 * Training
 *
 * A training session runs a training step the compiler built (ds-compile
 * --gradients --optimizer=sgd|adamw): it keeps the parameters and the
 * optimizer's state between steps, passes the learning rate, the step
 * number and the loss scale, and takes only the batch from the caller, in
 * whatever order the caller feeds batches (curriculum ordering is the
 * application's choice). The step's signature is ds_artifact_format.h's
 * DSX_TRAIN_* names.
 *
 * Threads: every call on one training session is serialized by a mutex
 * inside it; one session may be shared by threads, and steps from several
 * threads run one at a time (in the order they take the lock).
 *===----------------------------------------------------------------------===*/

/* Dynamic loss scaling (for fp16 training): the loss is multiplied by
   `scale` before the backward pass; a step whose gradients are not finite is
   skipped and halves the scale (not below `minimum`); `growth_interval`
   clean steps in a row double it. */
typedef struct ds_loss_scaler {
  double scale;
  double minimum;
  int64_t growth_interval;
  int64_t clean_steps;   /* finite steps since the scale last changed */
  int64_t skipped_steps; /* steps skipped for non-finite gradients, in all */
} ds_loss_scaler;

/* initial 2^16, growth_interval 2000, minimum 1 are the usual values. */
void ds_loss_scaler_init(ds_loss_scaler *scaler, double initial, int64_t growth_interval,
                         double minimum);
/* Advances the state machine after a step whose gradients were finite or not. */
void ds_loss_scaler_update(ds_loss_scaler *scaler, int32_t finite);

typedef struct ds_training_session_t ds_training_session;

typedef struct ds_training_options {
  uint32_t struct_size; /* set by ds_training_options_init */
  int32_t num_threads;  /* as in ds_session_options */
  /* The initial state of the loss scaler, used when the step scales its loss
     (it has a DSX_TRAIN_LOSS_SCALE input); ds_loss_scaler_init(2^16, 2000, 1)
     by default. */
  ds_loss_scaler loss_scaler;
} ds_training_options;

void ds_training_options_init(ds_training_options *options);
/* Fails with DS_INVALID_ARGUMENT for a model that is not a training step
   (saying what of the signature is missing), and for state with dynamic dims. */
ds_status ds_training_session_create(const ds_model *model, const ds_training_options *options,
                                     ds_training_session **out_session);
void ds_training_session_release(ds_training_session *session);

/* The inputs a step takes from the caller, in the order ds_training_session_step
   takes them. Names and dims stay valid while the session lives. */
int32_t ds_training_session_num_batch_inputs(const ds_training_session *session);
ds_status ds_training_session_batch_input_info(const ds_training_session *session, int32_t index,
                                               ds_value_info *out_info);

/* Runs one step on the batch. *out_loss (may be NULL) is the loss before the
   update. *out_applied (may be NULL) is 1 when the parameters and state
   advanced, 0 when the gradients overflowed under loss scaling and the step
   was skipped. A failed step leaves parameters, state and the step count as
   they were. */
ds_status ds_training_session_step(ds_training_session *session, const ds_tensor *batch,
                                   int32_t num_batch, double *out_loss, int32_t *out_applied);

/* The state the session carries: the parameters first (is_parameter 1), then
   the optimizer's state (momentum buffers, AdamW moments; is_parameter 0). */
int32_t ds_training_session_num_state(const ds_training_session *session);
ds_status ds_training_session_state_info(const ds_training_session *session, int32_t index,
                                         ds_value_info *out_info, int32_t *out_is_parameter);
/* Copies the current value of state `name` into `data` (byte_size must be
   its size). */
ds_status ds_training_session_read_state(ds_training_session *session, const char *name,
                                         void *data, size_t byte_size);
/* Replaces state `name` (dtype, dims and byte size must match; the data is
   copied). */
ds_status ds_training_session_write_state(ds_training_session *session, const char *name,
                                          const ds_tensor *value);

/* The learning rate the next step uses (the artifact's default at first); a
   schedule changes it between steps. NaN (and steps_done -1) only if the
   session's lock cannot be taken. */
double ds_training_session_learning_rate(ds_training_session *session);
ds_status ds_training_session_set_learning_rate(ds_training_session *session, double rate);
/* Steps applied so far (skipped ones do not count). */
int64_t ds_training_session_steps_done(ds_training_session *session);
/* The loss scaler's current state; DS_INVALID_ARGUMENT when the step does not
   scale its loss. */
ds_status ds_training_session_loss_scaler(ds_training_session *session,
                                          ds_loss_scaler *out_scaler);

/* Writes parameters, optimizer state, the step count, the learning rate and
   the loss scaler to `path`: to a temporary file in the same folder, flushed
   to disk, then renamed over `path`, so a crash leaves the previous file or
   the new one, never a torn one. */
ds_status ds_training_session_save(ds_training_session *session, const char *path);
/* Restores a file written by ds_training_session_save. A torn, corrupted or
   foreign file (another model's state, another optimizer, loss scaling on one
   side only) fails with DS_INVALID_ARTIFACT and changes nothing. */
ds_status ds_training_session_load(ds_training_session *session, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* DS_RUNTIME_DS_RUNTIME_H */
