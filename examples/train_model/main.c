/* Example app (C): train a model compiled by ds, feeding batches in a
   curriculum order (easy batches first) with a cosine learning-rate schedule
   restarted each epoch,
   and save / resume a checkpoint.

     ds-compile model.onnx -o step.dsx --gradients --loss-function=mse --optimizer=sgd
     train_model step.dsx run.ckpt            # trains one epoch, saves run.ckpt
     train_model step.dsx run.ckpt --resume   # loads run.ckpt, trains one more

   The model maps x: f32[B, N] to y: f32[B, M]; the task is to learn a fixed
   linear teacher, target = x T. Batches differ in the magnitude of x, which
   is what makes one harder than another: the order is the application's
   choice, the session takes batches in any order. */
#include "ds-runtime/ds_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kBatches = 48 };

static int fail(ds_status status) {
  fprintf(stderr, "error: %s\n", ds_status_get_message(status));
  ds_status_release(status);
  return 1;
}

static uint32_t rng_state = 12345;
static float uniform(void) { /* in [-1, 1) */
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

/* Batch k: x uniform in [-s, s) with s = 0.25 + 0.25 (k % 8), target = x T. */
static void make_batch(int k, int64_t rows, int64_t n, int64_t m, float *x, float *target) {
  float scale = 0.25f + 0.25f * (float)(k % 8);
  for (int64_t i = 0; i < rows * n; ++i)
    x[i] = scale * uniform();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < m; ++j) {
      float sum = 0;
      for (int64_t c = 0; c < n; ++c)
        sum += x[r * n + c] * sinf((float)(c * m + j + 1)); /* the teacher T */
      target[r * m + j] = sum;
    }
}

static int by_difficulty(const void *a, const void *b) {
  int ka = *(const int *)a % 8, kb = *(const int *)b % 8;
  return ka != kb ? ka - kb : *(const int *)a - *(const int *)b;
}

/* One epoch, after loading `checkpoint` when resuming, then a save over it.
   Returns 0, or 1 after printing what failed. */
static int train(ds_training_session *session, const char *checkpoint, int resume) {
  ds_value_info x_info, target_info;
  ds_status status = NULL;
  if (ds_training_session_num_batch_inputs(session) != 2 ||
      (status = ds_training_session_batch_input_info(session, 0, &x_info)) ||
      (status = ds_training_session_batch_input_info(session, 1, &target_info)) ||
      strcmp(x_info.name, "x") || strcmp(target_info.name, "target") || x_info.rank != 2 ||
      target_info.rank != 2) {
    if (status)
      return fail(status);
    fprintf(stderr, "error: the example expects batch inputs x: f32[B, N], target: f32[B, M]\n");
    return 1;
  }
  int64_t rows = x_info.dims[0], n = x_info.dims[1], m = target_info.dims[1];
  float *x = malloc(sizeof(float) * rows * n), *target = malloc(sizeof(float) * rows * m);
  ds_tensor batch[2] = {{DS_F32, 2, x_info.dims, x, sizeof(float) * rows * n},
                        {DS_F32, 2, target_info.dims, target, sizeof(float) * rows * m}};
  int rc = 1;
  if (!x || !target) {
    fprintf(stderr, "error: out of memory\n");
    goto done;
  }
  /* Each epoch decays the rate from the compiled default along a cosine
     (warm restarts: a resumed run starts its epoch from the top again). */
  double base_rate = ds_training_session_learning_rate(session), first = 0, last = 0;
  if (resume) {
    if ((status = ds_training_session_load(session, checkpoint)))
      goto done;
    printf("resumed at step %lld\n", (long long)ds_training_session_steps_done(session));
  }

  /* The curriculum: easy batches (small x) first. */
  int order[kBatches];
  for (int k = 0; k < kBatches; ++k)
    order[k] = k;
  qsort(order, kBatches, sizeof(int), by_difficulty);

  for (int i = 0; i < kBatches; ++i) {
    double rate = 0.5 * base_rate * (1 + cos(3.14159265358979 * i / kBatches));
    if ((status = ds_training_session_set_learning_rate(session, rate)))
      goto done;
    make_batch(order[i], rows, n, m, x, target);
    double loss = 0;
    int32_t applied = 0;
    if ((status = ds_training_session_step(session, batch, 2, &loss, &applied)))
      goto done;
    if (i == 0)
      first = loss;
    last = loss;
    if (i % 16 == 0 || i == kBatches - 1)
      printf("step %lld (batch %d, lr %.4f): loss %.6f\n",
             (long long)ds_training_session_steps_done(session), order[i], rate, loss);
  }
  printf("epoch loss: first %.6f, last %.6f\n", first, last);
  if ((status = ds_training_session_save(session, checkpoint)))
    goto done;
  printf("saved %s at step %lld\n", checkpoint,
         (long long)ds_training_session_steps_done(session));
  rc = 0;
done:
  free(x);
  free(target);
  return status ? fail(status) : rc;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--resume") != 0)) {
    fprintf(stderr, "usage: %s step.dsx checkpoint [--resume]\n", argv[0]);
    return 2;
  }
  ds_model *model = NULL;
  ds_training_session *session = NULL;
  ds_status status = ds_model_load(argv[1], &model);
  if (status)
    return fail(status);
  ds_training_options options;
  ds_training_options_init(&options);
  status = ds_training_session_create(model, &options, &session);
  ds_model_release(model); /* the session keeps what it needs */
  if (status)
    return fail(status);
  int rc = train(session, argv[2], argc == 4);
  ds_training_session_release(session);
  return rc;
}
