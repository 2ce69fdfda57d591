/*===- ds_artifact_format.h - layout of a ds artifact (.dsx) --------------===*
 *
 * Shared by the compiler, which writes artifacts, and the runtime, which
 * reads them. All integers are little-endian.
 *
 *   header (64 bytes)
 *     char[8]  magic "DSXARTF\0"
 *     u32      format version (DSX_FORMAT_VERSION)
 *     u32      header size (64)
 *     u64      file size
 *     u64      checksum (dsx_checksum) over bytes [64, file size)
 *     u64      metadata offset, u64 metadata size
 *     u64      constants offset (DSX_CONSTANT_ALIGNMENT-aligned), u64 size
 *   metadata
 *     u32 value count, then per value:
 *       u8 dtype (ds_dtype), u8 storage (dsx_storage), u16 flags (dsx_value_flag),
 *       u32 rank, i64 dims[rank], u64 offset, u64 bytes, str name
 *       A negative dim is dynamic: in an input, dim -(k+1) is symbol k of
 *       the symbol table (version 3), so dims naming one symbol have one
 *       size in a run; elsewhere any negative dim means "known at run
 *       time". A value with a dynamic dim has bytes 0 and, in the arena,
 *       offset 0: the runtime plans it per input shape.
 *     u64 arena bytes
 *     u32 input count, u32 value ids; u32 output count, u32 value ids
 *     u32 step count, then per step:
 *       str op name, u32 input count, u32 value ids (DSX_ABSENT for an
 *       absent optional operand), u32 output count, u32 value ids,
 *       u32 attribute count, per attribute: str name, u8 tag (dsx_attr_tag),
 *       payload: i64 | f64 | u32 n + i64[n] | u32 n + f64[n] | str |
 *                u8 dtype + str bytes
 *     version 2 only (docs/cuda-backend.md), after the steps:
 *       u32 target (dsx_target), u32 image count, per image:
 *       str arch ("sm_90a", "compute_80"), u64 offset, u64 size (inside the
 *       constants section, DSX_CONSTANT_ALIGNMENT-aligned)
 *     version 3, after that: u32 symbol count, per symbol: str name (the
 *       ONNX dim_param, or "input:dim" when it had none), i64 min, i64 max
 *       (the sizes a run may bind; max -1 = unbounded); then u32 step count
 *       and one u8 dsx_op_class per step
 *     version 4, after that: u32 group count, per fusion group (ascending,
 *       not overlapping): u32 first step, u32 step count, u32 head steps
 *       (its first steps, which run whole: a convolution anchor), u32
 *       parallel dims (the leading result dims the other steps keep
 *       independent, so the runtime may run them in tiles of rows of those
 *       dims; 0: op by op)
 *     version 5: the same layout; constants may carry DSX_VALUE_PACKED_CODES
 *     str: u32 length + bytes (no terminator)
 *   constants: each constant at its offset, DSX_CONSTANT_ALIGNMENT-aligned,
 *     so a reader can use the mapped file in place. Arena offsets are
 *     DSX_CONSTANT_ALIGNMENT-aligned too; a reader refuses any other.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DS_RUNTIME_DS_ARTIFACT_FORMAT_H
#define DS_RUNTIME_DS_ARTIFACT_FORMAT_H

#include <stdint.h>

#include "ds-runtime/ds_runtime.h"

#define DSX_MAGIC "DSXARTF"
#define DSX_FORMAT_VERSION 5u
#define DSX_HEADER_SIZE 64u
#define DSX_CONSTANT_ALIGNMENT 64u
#define DSX_ABSENT 0xffffffffu
/* Versions a reader accepts: 1 (cpu only), 2 (target + kernel images), 3
   (dim symbols), 4 (fusion groups) and 5 (DSX_VALUE_PACKED_CODES). */
#define DSX_FORMAT_VERSION_MIN 1u
#define DSX_FORMAT_VERSION_MAX 5u
#define DSX_MAX_ARCH_LENGTH 32u

/* What executes the step list (format version 2; version 1 is cpu). */
typedef enum dsx_target {
  DSX_TARGET_CPU = 0,
  DSX_TARGET_CUDA = 1,
} dsx_target;

/* Where a value's bytes live. */
typedef enum dsx_storage {
  DSX_STORAGE_INPUT = 0,    /* a graph input, bound at run time */
  DSX_STORAGE_CONSTANT = 1, /* in the constants section at `offset` */
  DSX_STORAGE_ARENA = 2,    /* in the activation arena at `offset` */
} dsx_storage;

/* Flags of a value record. An input with a default (an ONNX initializer
   that is also a graph input) has its default at `offset` in the constants
   section. */
typedef enum dsx_value_flag {
  DSX_VALUE_HAS_DEFAULT = 1, /* inputs only */
  /* An input the model declares without a shape, compiled at the rank its
     uses need (a Clip bound: a scalar): a run may also pass it at another
     rank when it holds one element (dims all 1), as onnxruntime accepts. */
  DSX_VALUE_ANY_RANK = 2, /* inputs only */
  /* A constant of 4- or 2-bit integers (i4, u4, i2, u2; cpu target) stored
     8 / bits codes to a byte: element i in bits [(i % k) * bits, (i % k + 1)
     * bits) of byte i / k, k = 8 / bits, the unused high bits of the last
     byte 0; `bytes` is ceil(elements / k). Readers hold such values one
     code per byte, sign-extended for i4 / i2, like every other sub-byte
     value (int4 weights of weight-only quantization: half the bytes of
     int8 ones in the file). */
  DSX_VALUE_PACKED_CODES = 4, /* constants only, version 5 on */
} dsx_value_flag;

/* Bits per code of the integer types a constant may store packed
   (DSX_VALUE_PACKED_CODES): 4 for i4 / u4, 2 for i2 / u2, else 0. */
static inline unsigned dsx_packed_code_bits(ds_dtype dtype) {
  switch (dtype) {
  case DS_I4:
  case DS_U4:
    return 4;
  case DS_I2:
  case DS_U2:
    return 2;
  default:
    return 0;
  }
}

/* The signature of a compiled training step (ds-autodiff, then
   ds-optimizer-step), by value names: the compiler writes them, the runtime's
   training session (ds_runtime.h) reads them.
     input  DSX_TRAIN_LEARNING_RATE  scalar with a default
     input  DSX_TRAIN_STEP           scalar, the 1-based step number (AdamW)
     input  DSX_TRAIN_LOSS_SCALE     scalar (dynamic loss scaling only)
     input  X with a default and an output X DSX_TRAIN_NEXT_SUFFIX: state the
            step carries over (parameters, and the optimizer's state named
            <parameter><DSX_TRAIN_*_SUFFIX>)
     output DSX_TRAIN_LOSS           the loss before the update, one element
     output DSX_TRAIN_GRADS_FINITE   1 when every gradient is finite, else 0
                                     (the program then returns the state
                                     unchanged); with loss scaling only
   Every other input is the batch. */
#define DSX_TRAIN_LOSS "loss"
#define DSX_TRAIN_LEARNING_RATE "learning_rate"
#define DSX_TRAIN_STEP "step"
#define DSX_TRAIN_LOSS_SCALE "loss_scale"
#define DSX_TRAIN_GRADS_FINITE "grads_finite"
#define DSX_TRAIN_NEXT_SUFFIX ".next"
#define DSX_TRAIN_MOMENTUM_SUFFIX ".momentum"
#define DSX_TRAIN_ADAM_M_SUFFIX ".adam_m"
#define DSX_TRAIN_ADAM_V_SUFFIX ".adam_v"

/* What an op does, declared once on each ds op (an ODS trait in
   DSOps.td) and written per step (version 3), so the compiler's fusion, the
   CUDA emitter and the runtime classify ops alike. */
typedef enum dsx_op_class {
  DSX_OP_OTHER = 0,         /* constants, fusion groups, other dialects */
  DSX_OP_ELEMENTWISE = 1,   /* each result element from the operand elements at
                               its (broadcast) index: unary, binary, compare,
                               select, cast */
  DSX_OP_REDUCTION = 2,     /* reduces along axes and fuses with elementwise
                               producers and consumers: reduce, softmax, norm */
  DSX_OP_WINDOW = 3,        /* other reductions, which stand alone: pool,
                               arg_reduce, topk, cumsum */
  DSX_OP_CONTRACTION = 4,   /* matmul, einsum, conv, conv_transpose */
  DSX_OP_ATTENTION = 5,     /* fused scaled dot-product attention */
  DSX_OP_DATA_MOVEMENT = 6, /* copies or rearranges elements: reshape,
                               transpose, gather, slice, pad, resize, ... */
  DSX_OP_SHAPE = 7,         /* reads only its operand's shape */
  DSX_OP_GENERATOR = 8,     /* makes a tensor from scalars: fill, range */
  DSX_OP_PRECISION = 9,     /* changes the number format: quantize,
                               dequantize, dynamic_quantize */
} dsx_op_class;
#define DSX_OP_CLASS_MAX DSX_OP_PRECISION

/* Run-time sizes of a dynamic cuda program (docs/cuda-backend.md, "Dynamic
   dims"). A size is a postfix program of (dsx_size_op, operand) pairs over
   the sizes the program's dim symbols bind in a run; steps carry them in two
   int-list attributes of entries
     "dynamic_dims":   output index, dim, pair count, pairs...  (a result dim)
     "dynamic_fields": field, pair count, pairs...              (cuda.launch:
                       grid x/y/z = 0/1/2; cuda.gemm: m, n, k, batch,
                       stride_a, stride_b, stride_d = 0..6)
   Every dynamic dim of a step's result has its entry; kernels of such a
   program take one trailing `long long` parameter per dim symbol. */
typedef enum dsx_size_op {
  DSX_SIZE_CONST = 0,   /* push the operand */
  DSX_SIZE_SYMBOL = 1,  /* push the size dim symbol `operand` binds */
  DSX_SIZE_ADD = 2,     /* pop b, pop a, push a + b (operand 0) */
  DSX_SIZE_MUL = 3,     /* a * b */
  DSX_SIZE_CEILDIV = 4, /* ceil(a / b), b > 0 */
} dsx_size_op;
#define DSX_SIZE_OP_MAX DSX_SIZE_CEILDIV
#define DSX_MAX_SIZE_PAIRS 64u
#define DSX_GEMM_FIELD_COUNT 7u

typedef enum dsx_attr_tag {
  DSX_ATTR_INT = 0,
  DSX_ATTR_FLOAT = 1,
  DSX_ATTR_INTS = 2,
  DSX_ATTR_FLOATS = 3,
  DSX_ATTR_STRING = 4,
  DSX_ATTR_TENSOR = 5,
} dsx_attr_tag;

/* The artifact checksum: FNV-1a's xor-multiply step over little-endian 64-bit
   words (the last word zero-padded), then over the byte length. Word-wise, so
   a multi-hundred-MB file hashes in a fraction of a second; any change within
   one word changes the result, as the step is a bijection of the state. */
typedef struct dsx_hasher {
  uint64_t hash;
  uint64_t length;
  unsigned char tail[8];
  uint32_t tail_size;
} dsx_hasher;

#define DSX_HASH_PRIME 1099511628211ull

static inline void dsx_hash_init(dsx_hasher *h) {
  h->hash = 14695981039346656037ull;
  h->length = 0;
  h->tail_size = 0;
}

static inline uint64_t dsx_load_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

static inline void dsx_hash_update(dsx_hasher *h, const unsigned char *data, uint64_t size) {
  h->length += size;
  while (size && h->tail_size) { /* finish a partial word first */
    h->tail[h->tail_size++] = *data++;
    --size;
    if (h->tail_size == 8) {
      h->hash = (h->hash ^ dsx_load_le64(h->tail)) * DSX_HASH_PRIME;
      h->tail_size = 0;
    }
  }
  for (; size >= 8; data += 8, size -= 8)
    h->hash = (h->hash ^ dsx_load_le64(data)) * DSX_HASH_PRIME;
  while (size--)
    h->tail[h->tail_size++] = *data++;
}

static inline uint64_t dsx_hash_final(dsx_hasher *h) {
  uint64_t hash = h->hash;
  if (h->tail_size) {
    unsigned char last[8] = {0};
    for (uint32_t i = 0; i < h->tail_size; ++i)
      last[i] = h->tail[i];
    hash = (hash ^ dsx_load_le64(last)) * DSX_HASH_PRIME;
  }
  return (hash ^ h->length) * DSX_HASH_PRIME;
}

static inline uint64_t dsx_checksum(const unsigned char *data, uint64_t size) {
  dsx_hasher h;
  dsx_hash_init(&h);
  dsx_hash_update(&h, data, size);
  return dsx_hash_final(&h);
}

#endif /* DS_RUNTIME_DS_ARTIFACT_FORMAT_H */
