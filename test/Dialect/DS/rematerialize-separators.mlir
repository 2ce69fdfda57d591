// RUN: ds-opt %s --ds-rematerialize="strategy=sqrt" | FileCheck %s --check-prefix=SQRT
// RUN: ds-opt %s --ds-rematerialize="budget=7KiB report=true" --verify-diagnostics -o /dev/null
// ds-rematerialize on a residual stream, the shape of a transformer's
// training step: x_i = x_(i-1) + tanh(x_(i-1)), nine blocks; the backward
// reads only the branches h_i (1 KiB each), in reverse, so the stream
// values x_i are dead after the forward, yet every recomputation of an h_i
// needs them. Checkpoints must be stream values (the program's separators):
// kept alive, each bounds the recomputation of the segment after it, and
// every op is recomputed at most once. (Keeping every ⌈√k⌉-th of the
// branches instead, the plan before separators, recomputed 24 ops for a
// peak of 6.1 KB; this one recomputes 13 for 5.1 KB.)

// SQRT-LABEL: func.func @main
// Segments {h1, h2, h3}, {h4, h5, h6}, {h7, h8}; h9, read first, is kept.
// x3 and x6 are the checkpoints, kept alive for the recomputations.
// SQRT: %[[H1:.*]] = ds.unary tanh %arg0
// SQRT: %[[X1:.*]] = ds.binary add %arg0, %[[H1]]
// SQRT: %[[H2:.*]] = ds.unary tanh %[[X1]]
// SQRT: %[[X2:.*]] = ds.binary add %[[X1]], %[[H2]]
// SQRT: %[[H3:.*]] = ds.unary tanh %[[X2]]
// SQRT: %[[X3:.*]] = ds.binary add %[[X2]], %[[H3]]
// SQRT: %[[H4:.*]] = ds.unary tanh %[[X3]]
// SQRT: %[[X4:.*]] = ds.binary add %[[X3]], %[[H4]]
// SQRT: %[[H5:.*]] = ds.unary tanh %[[X4]]
// SQRT: %[[X5:.*]] = ds.binary add %[[X4]], %[[H5]]
// SQRT: %[[H6:.*]] = ds.unary tanh %[[X5]]
// SQRT: %[[X6:.*]] = ds.binary add %[[X5]], %[[H6]]
// SQRT: %[[H7:.*]] = ds.unary tanh %[[X6]]
// SQRT: %[[X7:.*]] = ds.binary add %[[X6]], %[[H7]]
// SQRT: %[[H8:.*]] = ds.unary tanh %[[X7]]
// SQRT: %[[X8:.*]] = ds.binary add %[[X7]], %[[H8]]
// SQRT: %[[H9:.*]] = ds.unary tanh %[[X8]]
// SQRT: %[[X9:.*]] = ds.binary add %[[X8]], %[[H9]]
// SQRT: %[[G10:.*]] = ds.binary mul %[[X9]], %[[X9]]
// SQRT: %[[G9:.*]] = ds.binary mul %[[G10]], %[[H9]]
// From x6, once:
// SQRT: %[[R7:.*]] = ds.unary tanh %[[X6]]
// SQRT: %[[RX7:.*]] = ds.binary add %[[X6]], %[[R7]]
// SQRT: %[[R8:.*]] = ds.unary tanh %[[RX7]]
// SQRT: %[[G8:.*]] = ds.binary mul %[[G9]], %[[R8]]
// SQRT: %[[G7:.*]] = ds.binary mul %[[G8]], %[[R7]]
// From x3, once:
// SQRT: %[[R4:.*]] = ds.unary tanh %[[X3]]
// SQRT: %[[RX4:.*]] = ds.binary add %[[X3]], %[[R4]]
// SQRT: %[[R5:.*]] = ds.unary tanh %[[RX4]]
// SQRT: %[[RX5:.*]] = ds.binary add %[[RX4]], %[[R5]]
// SQRT: %[[R6:.*]] = ds.unary tanh %[[RX5]]
// SQRT: %[[G6:.*]] = ds.binary mul %[[G7]], %[[R6]]
// SQRT: %[[G5:.*]] = ds.binary mul %[[G6]], %[[R5]]
// SQRT: %[[G4:.*]] = ds.binary mul %[[G5]], %[[R4]]
// From the input, once:
// SQRT: %[[R1:.*]] = ds.unary tanh %arg0
// SQRT: %[[RX1:.*]] = ds.binary add %arg0, %[[R1]]
// SQRT: %[[R2:.*]] = ds.unary tanh %[[RX1]]
// SQRT: %[[RX2:.*]] = ds.binary add %[[RX1]], %[[R2]]
// SQRT: %[[R3:.*]] = ds.unary tanh %[[RX2]]
// SQRT: %[[G3:.*]] = ds.binary mul %[[G4]], %[[R3]]
// SQRT: %[[G2:.*]] = ds.binary mul %[[G3]], %[[R2]]
// SQRT: ds.binary mul %[[G2]], %[[R1]]
// SQRT-NOT: ds.unary

// A budget between √n's peak and store-all's: the cheapest plan meeting it
// is a segment plan (one segment recomputed from the input, each op once);
// greedy's single drops alone recompute 16 ops for it.
// expected-remark @+1 {{ds-rematerialize: peak 11.3 KB -> 7.2 KB (strategy=greedy), 7 ops recomputed, 1792 FLOP more per run}}
func.func @main(%x0: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %h1 = ds.unary tanh %x0 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x1 = ds.binary add %x0, %h1 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h2 = ds.unary tanh %x1 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x2 = ds.binary add %x1, %h2 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h3 = ds.unary tanh %x2 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x3 = ds.binary add %x2, %h3 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h4 = ds.unary tanh %x3 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x4 = ds.binary add %x3, %h4 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h5 = ds.unary tanh %x4 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x5 = ds.binary add %x4, %h5 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h6 = ds.unary tanh %x5 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x6 = ds.binary add %x5, %h6 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h7 = ds.unary tanh %x6 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x7 = ds.binary add %x6, %h7 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h8 = ds.unary tanh %x7 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x8 = ds.binary add %x7, %h8 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %h9 = ds.unary tanh %x8 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %x9 = ds.binary add %x8, %h9 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g10 = ds.binary mul %x9, %x9 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g9 = ds.binary mul %g10, %h9 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g8 = ds.binary mul %g9, %h8 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g7 = ds.binary mul %g8, %h7 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g6 = ds.binary mul %g7, %h6 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g5 = ds.binary mul %g6, %h5 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g4 = ds.binary mul %g5, %h4 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g3 = ds.binary mul %g4, %h3 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g2 = ds.binary mul %g3, %h2 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g1 = ds.binary mul %g2, %h1 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  return %g1 : tensor<16x16xf32>
}
