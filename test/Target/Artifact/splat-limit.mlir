// A splat constant of 2^39 floats is streamed, never expanded in memory, and
// the 2 TiB it would take in the artifact is refused before writing.
// RUN: rm -f %t.dsx
// RUN: not ds-compile %s -o %t.dsx 2>&1 | FileCheck %s
// CHECK: error: the artifact would be {{[0-9]+}} bytes (constants 2199023255552), more than the limit of 68719476736 (--ds-max-artifact-bytes)
// RUN: not test -e %t.dsx
// The limit flags apply to .mlir input too.
// RUN: not ds-compile %s -o %t.dsx --ds-max-artifact-bytes=1024 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: more than the limit of 1024 (--ds-max-artifact-bytes)
func.func @main() -> tensor<549755813888xf32> {
  %0 = ds.constant dense<1.5> : tensor<549755813888xf32>
  return %0 : tensor<549755813888xf32>
}
