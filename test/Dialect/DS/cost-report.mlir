// RUN: ds-opt %s --split-input-file --ds-cost-report="cpu-gflops=100 cpu-gbps=10 top=3" -o /dev/null | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-cost-report="format=json stage=imported cpu-gflops=100 cpu-gbps=10" -o /dev/null | FileCheck %s --check-prefix=JSON
// RUN: rm -f %t.jsonl
// RUN: ds-opt %s --split-input-file --ds-cost-report="format=json stage=a output=%t.jsonl cpu-gbps=10" --ds-cost-report="format=json stage=b output=%t.jsonl append=true cpu-gbps=10" -o /dev/null
// RUN: FileCheck %s --check-prefix=STAGES < %t.jsonl
// ds-cost-report: FLOPs, bytes moved and roofline time per op and in total,
// with the memory analysis (peak, what is alive there, memory over time).

// matmul [8x64] x [64x32]: 2*8*32*64 = 32768 FLOP; reads 2048 + 8192 bytes,
// writes 1024: 11264 bytes. On the fixed CPU (100 GFLOP/s, 10 GB/s) that is
// max(0.33 us, 1.13 us) = memory bound. relu: 256 FLOP, 2048 bytes; softmax:
// 5 per element = 1280 FLOP, 2048 bytes. Total 34304 FLOP, 15360 bytes.
// CHECK-LABEL: cost of @main: 3 steps, 34.30 KFLOP, 15.36 KB moved
// CHECK-NEXT: roofline: cpu 0.0015 ms ({{.*}}100.00 GFLOP/s f32, 10.00 GB/s), gpu 0.0000 ms (H200 SXM)
// CHECK-NEXT: memory: peak 2.05 KB at step 1 (ds.unary 'act'), arena
// CHECK-NEXT: most expensive steps (cpu roofline):
// CHECK-NEXT: 0.0011 ms {{ *}}32.77 KFLOP  11.26 KB {{ *}}memory   f32  ds.matmul 'fc'
// CHECK-NEXT: 0.0002 ms {{ *}}256 FLOP {{ *}}2.05 KB {{ *}}memory   f32  ds.unary 'act'
// CHECK-NEXT: 0.0002 ms {{ *}}1.28 KFLOP {{ *}}2.05 KB {{ *}}memory   f32  ds.softmax
// CHECK-NEXT: alive at the peak (2 values):
// CHECK-NEXT: 1.02 KB {{ *}}steps 0..1, from ds.matmul 'fc'
// CHECK-NEXT: 1.02 KB {{ *}}steps 1..2, from ds.unary 'act'

// JSON: {"function":"main","stage":"imported",{{.*}}"total":{"steps":3,"steps_of_dynamic_size":0,"flops":34304,"bytes_read":12288,"bytes_written":3072,
// JSON-SAME: "ops":[{"op":"ds.matmul","node":"fc","step":0,"flops":32768,"bytes":11264,"arithmetic":"f32",
// JSON-SAME: "cpu_bound":"memory"}
// JSON-SAME: "memory":{"planned":true,"peak_bytes":2048,"peak_step":1,"peak_op":"ds.unary 'act'",
// JSON-SAME: "live_bytes":[1024,2048,2048,1024]
// JSON-SAME: "alive_at_peak":[{"value":"%1","bytes":1024,"begin":0,"end":1,"producer":"ds.matmul 'fc'"}
func.func @main(%x: tensor<8x64xf32>) -> tensor<8x32xf32> {
  %w = ds.constant dense<0.5> : tensor<64x32xf32>
  %0 = ds.matmul %x, %w : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32> loc("fc")
  %1 = ds.unary relu %0 : (tensor<8x32xf32>) -> tensor<8x32xf32> loc("act")
  %2 = ds.softmax %1 {axis = 1 : i64} : (tensor<8x32xf32>) -> tensor<8x32xf32>
  return %2 : tensor<8x32xf32>
}

// -----

// A bf16 matmul runs on 16-bit units; a fusion group moves only its own
// operands and results (128 KiB of bf16 in, 256 KiB of f32 out): the
// relu's input never reaches memory (op by op: 917504 bytes).
// CHECK-LABEL: cost of @main: 2 steps
// CHECK: compute  f16  ds.matmul
// CHECK: ds.fusion_group elementwise
// JSON: "ops":[{"op":"ds.matmul",{{.*}}"arithmetic":"f16"
// JSON-SAME: {"op":"ds.fusion_group","node":"","fusion":"elementwise","step":1,"flops":131072,"bytes":393216,
func.func @main(%a: tensor<256x256xbf16>, %b: tensor<256x256xbf16>) -> tensor<256x256xf32> {
  %0 = ds.matmul %a, %b : (tensor<256x256xbf16>, tensor<256x256xbf16>) -> tensor<256x256xbf16>
  %1 = ds.fusion_group elementwise (%0) : (tensor<256x256xbf16>) -> tensor<256x256xf32> {
  ^bb0(%in: tensor<256x256xbf16>):
    %c = ds.cast %in : tensor<256x256xbf16> to tensor<256x256xf32>
    %r = ds.unary relu %c : (tensor<256x256xf32>) -> tensor<256x256xf32>
    ds.yield %r : tensor<256x256xf32>
  }
  return %1 : tensor<256x256xf32>
}

// -----

// Causal attention counts the visible query-key pairs: 16 queries over 16
// keys see 136 pairs; per pair 2*(8+8) + 5 = 37 FLOP, over 2 heads:
// 2 * 136 * 37 = 10064.
// JSON: "ops":[{"op":"ds.attention",{{.*}}"flops":10064,
// A dynamic batch leaves an op uncounted, and says so.
// CHECK-LABEL: cost of @main: 2 steps
// CHECK-NEXT: 1 steps of dynamic size not counted (bind dims with --ds-input-shape)
// CHECK: memory: planned per input shape at run time
func.func @main(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %d: tensor<?x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<?x8xf32>) {
  %0 = ds.attention %q, %k, %v {is_causal} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %1 = ds.unary relu %d : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0, %1 : tensor<1x2x16x8xf32>, tensor<?x8xf32>
}

// STAGES: {"function":"main","stage":"a",
// STAGES: {"function":"main","stage":"b",
