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
 *     u64      checksum: FNV-1a 64 over bytes [64, file size)
 *     u64      metadata offset, u64 metadata size
 *     u64      constants offset (DSX_CONSTANT_ALIGNMENT-aligned), u64 size
 *   metadata
 *     u32 value count, then per value:
 *       u8 dtype (ds_dtype), u8 storage (dsx_storage), u16 reserved,
 *       u32 rank, i64 dims[rank] (-1 = dynamic), u64 offset, u64 bytes, str name
 *     u64 arena bytes
 *     u32 input count, u32 value ids; u32 output count, u32 value ids
 *     u32 step count, then per step:
 *       str op name, u32 input count, u32 value ids (DSX_ABSENT for an
 *       absent optional operand), u32 output count, u32 value ids,
 *       u32 attribute count, per attribute: str name, u8 tag (dsx_attr_tag),
 *       payload: i64 | f64 | u32 n + i64[n] | u32 n + f64[n] | str |
 *                u8 dtype + str bytes
 *     str: u32 length + bytes (no terminator)
 *   constants: each constant at its offset, DSX_CONSTANT_ALIGNMENT-aligned,
 *     so a reader can use the mapped file in place.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DS_RUNTIME_DS_ARTIFACT_FORMAT_H
#define DS_RUNTIME_DS_ARTIFACT_FORMAT_H

#include <stdint.h>

#define DSX_MAGIC "DSXARTF"
#define DSX_FORMAT_VERSION 1u
#define DSX_HEADER_SIZE 64u
#define DSX_CONSTANT_ALIGNMENT 64u
#define DSX_ABSENT 0xffffffffu

/* Where a value's bytes live. */
typedef enum dsx_storage {
  DSX_STORAGE_INPUT = 0,    /* a graph input, bound at run time */
  DSX_STORAGE_CONSTANT = 1, /* in the constants section at `offset` */
  DSX_STORAGE_ARENA = 2,    /* in the activation arena at `offset` */
} dsx_storage;

typedef enum dsx_attr_tag {
  DSX_ATTR_INT = 0,
  DSX_ATTR_FLOAT = 1,
  DSX_ATTR_INTS = 2,
  DSX_ATTR_FLOATS = 3,
  DSX_ATTR_STRING = 4,
  DSX_ATTR_TENSOR = 5,
} dsx_attr_tag;

/* FNV-1a 64-bit, the artifact checksum. */
static inline uint64_t dsx_checksum(const unsigned char *data, uint64_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (uint64_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

#endif /* DS_RUNTIME_DS_ARTIFACT_FORMAT_H */
