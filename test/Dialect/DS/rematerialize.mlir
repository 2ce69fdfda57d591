// RUN: ds-opt %s --split-input-file --ds-rematerialize="strategy=greedy" | FileCheck %s --check-prefix=GREEDY
// RUN: ds-opt %s --split-input-file --ds-rematerialize="strategy=sqrt" | FileCheck %s --check-prefix=SQRT
// RUN: ds-opt %s --split-input-file --ds-rematerialize="strategy=optimal budget=4KiB" | FileCheck %s --check-prefix=OPTIMAL
// RUN: ds-opt %s --split-input-file --ds-rematerialize="budget=1MB report=true" --verify-diagnostics -o /dev/null
// RUN: ds-opt %s --split-input-file --ds-rematerialize="budget=3KiB" --ds-memory-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=PEAK
// ds-rematerialize: recompute values near their late uses instead of keeping
// them alive. The chain has the shape of a training step: four activations
// (1 KiB each) computed forward, read again in reverse by a "backward" pass,
// so all four are alive at b4 (with b4's result: 5 KiB).

// GREEDY-LABEL: func.func @main
// Greedy drops the activation that lowers the peak most, again and again:
// f3's and f2's results are recomputed from f1's near their reads, f1's
// from the input: 3 KiB.
// GREEDY: %[[A1:.*]] = ds.unary tanh %arg0
// GREEDY: %[[A2:.*]] = ds.unary tanh %[[A1]]
// GREEDY: %[[A3:.*]] = ds.unary tanh %[[A2]]
// GREEDY: %[[A4:.*]] = ds.unary tanh %[[A3]]
// GREEDY: %[[G4:.*]] = ds.binary mul %[[A4]], %[[A4]]
// GREEDY: %[[G3:.*]] = ds.binary mul %[[G4]], %[[A3]]
// GREEDY: %[[R1:.*]] = ds.unary tanh %arg0
// GREEDY: %[[R2:.*]] = ds.unary tanh %[[R1]]
// GREEDY: %[[G2:.*]] = ds.binary mul %[[G3]], %[[R2]]
// GREEDY: %[[R1B:.*]] = ds.unary tanh %arg0
// GREEDY: ds.binary mul %[[G2]], %[[R1B]]

// SQRT-LABEL: func.func @main
// The chain's four activations each cut it: √4 = 2 segments of the three
// alive across b4 (f1, f2, f3; f4 is read there), with f2 the checkpoint.
// f1's segment is recomputed from the input; f3's, the last, is kept: the
// backward reads it first, recomputing it would lower no peak.
// SQRT: %[[A1:.*]] = ds.unary tanh %arg0
// SQRT: %[[A2:.*]] = ds.unary tanh %[[A1]]
// SQRT: %[[A3:.*]] = ds.unary tanh %[[A2]]
// SQRT: %[[G4:.*]] = ds.binary mul
// SQRT: %[[G3:.*]] = ds.binary mul %[[G4]], %[[A3]]
// SQRT: %[[G2:.*]] = ds.binary mul %[[G3]], %[[A2]]
// SQRT: %[[R1:.*]] = ds.unary tanh %arg0
// SQRT: ds.binary mul %[[G2]], %[[R1]]

// OPTIMAL-LABEL: func.func @main
// A 4 KiB budget needs one activation less: the cheapest plan recomputes
// f1's result (from the input) and nothing else.
// OPTIMAL-COUNT-4: ds.unary tanh
// OPTIMAL: %[[G2:.*]] = ds.binary mul %{{.*}}, %1
// OPTIMAL: %[[R1:.*]] = ds.unary tanh %arg0
// OPTIMAL: ds.binary mul %[[G2]], %[[R1]]
// OPTIMAL-NOT: ds.unary

// PEAK: remark: memory of @main: peak 3072 bytes

// expected-remark @+1 {{ds-rematerialize: peak 5.1 KB already fits the budget of 1.00 MB}}
func.func @main(%x: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %a1 = ds.unary tanh %x : (tensor<16x16xf32>) -> tensor<16x16xf32> loc("f1")
  %a2 = ds.unary tanh %a1 : (tensor<16x16xf32>) -> tensor<16x16xf32> loc("f2")
  %a3 = ds.unary tanh %a2 : (tensor<16x16xf32>) -> tensor<16x16xf32> loc("f3")
  %a4 = ds.unary tanh %a3 : (tensor<16x16xf32>) -> tensor<16x16xf32> loc("f4")
  %g4 = ds.binary mul %a4, %a4 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32> loc("b4")
  %g3 = ds.binary mul %g4, %a3 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32> loc("b3")
  %g2 = ds.binary mul %g3, %a2 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32> loc("b2")
  %g1 = ds.binary mul %g2, %a1 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32> loc("b1")
  return %g1 : tensor<16x16xf32>
}

// -----

// Scheduling alone: two independent branches each reduce a 256-byte value;
// running each reduction right after its producer keeps one 256-byte value
// alive instead of two. Nothing is recomputed.
// GREEDY-LABEL: func.func @main
// GREEDY: %[[A:.*]] = ds.unary exp %arg0
// GREEDY-NEXT: %[[SA:.*]] = ds.reduce sum %[[A]]
// GREEDY-NEXT: %[[B:.*]] = ds.unary tanh %arg0
// GREEDY-NEXT: %[[SB:.*]] = ds.reduce sum %[[B]]
// GREEDY-NEXT: ds.binary add %[[SA]], %[[SB]]
// A peak within the budget leaves the IR as it is, order included.
// OPTIMAL-LABEL: func.func @main
// OPTIMAL-NEXT: ds.unary exp
// OPTIMAL-NEXT: ds.unary tanh
// expected-remark @+1 {{ds-rematerialize: peak 544 bytes already fits the budget of 1.00 MB}}
func.func @main(%x: tensor<8x8xf32>) -> tensor<8x1xf32> {
  %a = ds.unary exp %x : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %b = ds.unary tanh %x : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %sa = ds.reduce sum %a {axes = array<i64: 1>, keepdims = true} : (tensor<8x8xf32>) -> tensor<8x1xf32>
  %sb = ds.reduce sum %b {axes = array<i64: 1>, keepdims = true} : (tensor<8x8xf32>) -> tensor<8x1xf32>
  %r = ds.binary add %sa, %sb : (tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<8x1xf32>
  return %r : tensor<8x1xf32>
}
