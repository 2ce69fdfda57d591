// RUN: ds-opt %s --split-input-file --ds-memory-report -o /dev/null 2>&1 | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-memory-report="max-values=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TOP2
// ds-memory-report: liveness, peak bytes, the values alive at the peak and the
// arena plan of @main as a remark.

// Steps (constants are not steps) and lifetimes, f32 so 4x8 = 128 bytes:
//   step 0  %0 relu      128 B  steps 0..4 (read by step 4)
//   step 1  %1 add       128 B  steps 1..3
//   step 2  %2 reduce     16 B  steps 2..3
//   step 3  %3 mul       128 B  steps 3..4
//   step 4  %4 add       128 B  steps 4..5 (graph output: to the return, step 5)
// Live bytes per step: 128, 256, 272, 400, 384, 128 -> peak 400 at step 3 with
// %0 %1 %3 %2 alive; intermediates 4*128 + 16 = 528.
// Arena (largest first, 64-byte aligned): %0 @0, %1 @128, %3 @256, %4 @128
// (%1 is dead by step 4), %2 (64 aligned) @384 -> 448 bytes.
// CHECK-LABEL: remark: memory of @main: peak 400 bytes at step 3 (ds.binary 'scale'), arena 448 bytes, intermediates 528 bytes in 5 values; 4 alive at the peak
// CHECK: note: loc("relu"): alive at the peak: %1 ('relu'), 128 bytes, steps 0..4
// CHECK: note: alive at the peak: %2, 128 bytes, steps 1..3
// CHECK: note: loc("scale"): alive at the peak: %4 ('scale'), 128 bytes, steps 3..4
// CHECK: note: alive at the peak: %3, 16 bytes, steps 2..3
// TOP2-LABEL: remark: memory of @main: peak 400 bytes
// TOP2: note: loc("relu"): alive at the peak
// TOP2: note: alive at the peak: %2, 128 bytes
// TOP2-NOT: alive at the peak: %
// TOP2: note: and 2 smaller values alive at the peak
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %c = ds.constant dense<1.0> : tensor<8xf32>
  %0 = ds.unary relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32> loc("relu")
  %1 = ds.binary add %0, %c : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = ds.reduce sum %1 {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %3 = ds.binary mul %1, %2 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> loc("scale")
  %4 = ds.binary add %3, %0 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %4 : tensor<4x8xf32>
}

// -----

// The ops of a fusion group are steps in their place: the CPU runtime runs a
// group it cannot tile op by op, so the value inside it has bytes too.
//   step 0  %s add    256 B (8x8 f32)  steps 0..1
//   step 1  %t relu   256 B            steps 1..2
//   step 2  %1 neg    256 B            steps 2..3 (output)
// Peak 512 at step 1; arena 512; intermediates 768.
// CHECK-LABEL: remark: memory of @main: peak 512 bytes at step 1 (ds.unary), arena 512 bytes, intermediates 768 bytes in 3 values; 2 alive at the peak
// CHECK: note: alive at the peak: %2, 256 bytes, steps 0..1
// CHECK: note: alive at the peak: %3, 256 bytes, steps 1..2
func.func @main(%x: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
  %0 = ds.fusion_group elementwise (%x, %b) : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32> {
  ^bb0(%a: tensor<8x8xf32>, %c: tensor<8xf32>):
    %s = ds.binary add %a, %c : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32>
    %t = ds.unary relu %s : (tensor<8x8xf32>) -> tensor<8x8xf32>
    ds.yield %t : tensor<8x8xf32>
  }
  %1 = ds.unary neg %0 : (tensor<8x8xf32>) -> tensor<8x8xf32>
  return %1 : tensor<8x8xf32>
}

// -----

// Short-lived values reuse the arena: a chain of four 4 KiB values (16x64
// f32), each read only by the next, needs two slots although 16 KiB are
// computed. Peak 8192 at step 1 (the first where two are alive).
// CHECK-LABEL: remark: memory of @main: peak 8192 bytes at step 1 (ds.unary), arena 8192 bytes, intermediates 16384 bytes in 4 values; 2 alive at the peak
func.func @main(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %0 = ds.unary neg %x : (tensor<16x64xf32>) -> tensor<16x64xf32>
  %1 = ds.unary neg %0 : (tensor<16x64xf32>) -> tensor<16x64xf32>
  %2 = ds.unary neg %1 : (tensor<16x64xf32>) -> tensor<16x64xf32>
  %3 = ds.unary neg %2 : (tensor<16x64xf32>) -> tensor<16x64xf32>
  return %3 : tensor<16x64xf32>
}
