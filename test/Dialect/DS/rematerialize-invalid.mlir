// RUN: ds-opt %s --split-input-file --ds-rematerialize="budget=4000" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --split-input-file --ds-rematerialize="budget=lots" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SIZE
// RUN: not ds-opt %s --split-input-file --ds-rematerialize="strategy=random" -o /dev/null 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not ds-opt %s --split-input-file --ds-rematerialize="strategy=optimal schedule=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=OPTIMAL
// What ds-rematerialize refuses, with what to do instead.

// SIZE: error: ds-rematerialize: budget 'lots' is not a size (e.g. 1000000, 64KB, 1.5MiB)
// STRATEGY: error: ds-rematerialize: strategy must be greedy, sqrt or optimal, not 'random'
// OPTIMAL: error: ds-rematerialize: strategy=optimal is for small graphs: 15 values are alive across the peak (at most 14); use greedy or sqrt

// The chain's b4 alone reads 2 KiB and writes 1 KiB: below that no schedule
// goes; recomputation reaches 4 KiB, not 4000 bytes.
// expected-error @+1 {{ds-rematerialize: the budget of 4.0 KB (4000 bytes) cannot be met: the smallest peak found is 4.1 KB (4096 bytes, strategy=greedy); give a budget of at least 4096 bytes}}
func.func @main(%x: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %a1 = ds.unary tanh %x : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %a2 = ds.unary tanh %a1 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %a3 = ds.unary tanh %a2 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %a4 = ds.unary tanh %a3 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %a5 = ds.unary tanh %a4 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %a6 = ds.unary tanh %a5 : (tensor<16x16xf32>) -> tensor<16x16xf32>
  // expected-note @+1 {{no schedule goes below 3072 bytes: this ds.binary reads and writes that much at once}}
  %g6 = ds.binary mul %a6, %a6 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g5 = ds.binary mul %g6, %a5 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g4 = ds.binary mul %g5, %a4 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g3 = ds.binary mul %g4, %a3 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g2 = ds.binary mul %g3, %a2 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %g1 = ds.binary mul %g2, %a1 : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  return %g1 : tensor<16x16xf32>
}

// -----

// The peak of dynamic dims is only known per input shape.
// expected-error @+1 {{ds-rematerialize: a value has dynamic dims (bind them with --ds-input-shape): its size, and the peak, are only known at run time}}
func.func @main(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = ds.unary tanh %x : (tensor<?x16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// A module without @main.
// expected-error @below {{ds-rematerialize: no func.func @main}}
module {
  func.func @other(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// Seventeen 64-byte values summed in order: unscheduled, fifteen are alive
// across the peak without being read there, too many subsets for optimal.
func.func @main(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = ds.unary exp %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = ds.unary tanh %x : (tensor<16xf32>) -> tensor<16xf32>
  %2 = ds.unary sin %x : (tensor<16xf32>) -> tensor<16xf32>
  %3 = ds.unary cos %x : (tensor<16xf32>) -> tensor<16xf32>
  %4 = ds.unary abs %x : (tensor<16xf32>) -> tensor<16xf32>
  %5 = ds.unary neg %x : (tensor<16xf32>) -> tensor<16xf32>
  %6 = ds.unary relu %x : (tensor<16xf32>) -> tensor<16xf32>
  %7 = ds.unary sigmoid %x : (tensor<16xf32>) -> tensor<16xf32>
  %8 = ds.unary erf %x : (tensor<16xf32>) -> tensor<16xf32>
  %9 = ds.unary floor %x : (tensor<16xf32>) -> tensor<16xf32>
  %10 = ds.unary ceil %x : (tensor<16xf32>) -> tensor<16xf32>
  %11 = ds.unary round %x : (tensor<16xf32>) -> tensor<16xf32>
  %12 = ds.unary sign %x : (tensor<16xf32>) -> tensor<16xf32>
  %13 = ds.unary sqrt %x : (tensor<16xf32>) -> tensor<16xf32>
  %14 = ds.unary softsign %x : (tensor<16xf32>) -> tensor<16xf32>
  %15 = ds.unary softplus %x : (tensor<16xf32>) -> tensor<16xf32>
  %16 = ds.unary gelu %x : (tensor<16xf32>) -> tensor<16xf32>
  %s1 = ds.binary add %0, %1 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s2 = ds.binary add %s1, %2 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s3 = ds.binary add %s2, %3 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s4 = ds.binary add %s3, %4 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s5 = ds.binary add %s4, %5 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s6 = ds.binary add %s5, %6 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s7 = ds.binary add %s6, %7 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s8 = ds.binary add %s7, %8 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s9 = ds.binary add %s8, %9 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s10 = ds.binary add %s9, %10 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s11 = ds.binary add %s10, %11 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s12 = ds.binary add %s11, %12 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s13 = ds.binary add %s12, %13 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s14 = ds.binary add %s13, %14 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s15 = ds.binary add %s14, %15 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %s16 = ds.binary add %s15, %16 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %s16 : tensor<16xf32>
}
