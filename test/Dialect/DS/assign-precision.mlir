// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=bf16" | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=fp16" | FileCheck %s --check-prefix=F16
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=fp16 report=-" -o /dev/null | FileCheck %s --check-prefix=REPORT
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=fp16 report=%t.txt" -o /dev/null
// RUN: FileCheck %s --input-file=%t.txt --check-prefix=LAST
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=bf16 keep-io-types=false" | FileCheck %s --check-prefix=IO
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=bf16 block-classes=contraction" | FileCheck %s --check-prefix=BLOCKED
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=bf16 block-nodes=fc,fc2" | FileCheck %s --check-prefix=BLOCKED
// policy=fp32 is the identity: the output equals what the parser alone prints.
// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=fp32" > %t.fp32.mlir
// RUN: ds-opt %s --split-input-file > %t.parsed.mlir
// RUN: diff %t.fp32.mlir %t.parsed.mlir

// A matmul with bias, activation and softmax: the matmul and what follows it
// run in the low type, the softmax in f32; the input is cast once, the
// weights are converted here, the result leaves as f32.
// CHECK-LABEL: func @mlp
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xf32>) -> tensor<4x16xf32>
// CHECK-DAG:   %[[XL:.*]] = ds.cast %[[X]] : tensor<4x8xf32> to tensor<4x8xbf16>
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<5.000000e-01> : tensor<8x16xbf16>
// CHECK-DAG:   %[[B:.*]] = ds.constant dense<{{.*}}9.994240e+05]> : tensor<16xbf16>
// CHECK:       %[[M:.*]] = ds.matmul %[[XL]], %[[W]] : (tensor<4x8xbf16>, tensor<8x16xbf16>) -> tensor<4x16xbf16>
// CHECK:       %[[A:.*]] = ds.binary add %[[M]], %[[B]] : (tensor<4x16xbf16>, tensor<16xbf16>) -> tensor<4x16xbf16>
// CHECK:       %[[G:.*]] = ds.unary gelu %[[A]] : (tensor<4x16xbf16>) -> tensor<4x16xbf16>
// CHECK:       %[[GF:.*]] = ds.cast %[[G]] : tensor<4x16xbf16> to tensor<4x16xf32>
// CHECK:       %[[S:.*]] = ds.softmax %[[GF]] {{.*}} -> tensor<4x16xf32>
// CHECK:       return %[[S]] : tensor<4x16xf32>
// The f32 constants that only the converted op read are gone.
// CHECK-NOT:   tensor<8x16xf32>
// fp16 clamps 1e6 to the largest finite half (65504).
// F16-LABEL: func @mlp
// F16: ds.constant dense<{{.*}}6.550400e+04]> : tensor<16xf16>
// REPORT:      fc ds.matmul f16 contraction
// REPORT-NEXT: bias ds.binary add f16 follows its inputs
// REPORT-NEXT: act ds.unary gelu f16 follows its inputs
// REPORT-NEXT: sm ds.softmax f32 reduction, stays fp32
// REPORT-NEXT: precision f16 in @mlp: 3 ops in f16, 1 in f32; 2 casts; 2 constants converted (144 elements, 1 clamped)
// Without keep-io-types the signature takes the low type; the softmax's
// result is cast down to leave.
// IO-LABEL: func @mlp
// IO-SAME:  (%[[X:.*]]: tensor<4x8xbf16>) -> tensor<4x16xbf16>
// IO:       ds.matmul %[[X]], {{.*}} : (tensor<4x8xbf16>, tensor<8x16xbf16>)
// IO:       %[[S:.*]] = ds.softmax {{.*}} -> tensor<4x16xf32>
// IO:       %[[SL:.*]] = ds.cast %[[S]] : tensor<4x16xf32> to tensor<4x16xbf16>
// IO:       return %[[SL]] : tensor<4x16xbf16>
// Blocked by class or by node name: nothing changes.
// BLOCKED-LABEL: func @mlp
// BLOCKED-NOT:   bf16
// BLOCKED:       return
func.func @mlp(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = ds.constant dense<0.5> : tensor<8x16xf32>
  %b = ds.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 1.0e+6]> : tensor<16xf32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32> loc("fc")
  %1 = ds.binary add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> loc("bias")
  %2 = ds.unary gelu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32> loc("act")
  %3 = ds.softmax %2 {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32> loc("sm")
  return %3 : tensor<4x16xf32>
}

// -----

// Data movement between two low ops stays low (no cast pair); a residual add
// of the f32 input stays f32, so the second matmul's result is cast up once
// for it and for the return.
// CHECK-LABEL: func @chain
// CHECK:       %[[M1:.*]] = ds.matmul {{.*}} -> tensor<4x8xbf16>
// CHECK-NEXT:  %[[T:.*]] = ds.transpose %[[M1]] {{.*}} -> tensor<8x4xbf16>
// CHECK-NOT:   ds.cast %[[T]]
// CHECK:       %[[M2:.*]] = ds.matmul %[[T]], {{.*}} -> tensor<8x8xbf16>
// CHECK-NEXT:  %[[M2F:.*]] = ds.cast %[[M2]] : tensor<8x8xbf16> to tensor<8x8xf32>
// CHECK:       %[[R:.*]] = ds.binary add %[[M2F]], %arg1 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
// CHECK:       return %[[R]], %[[M2F]]
// REPORT:      res ds.binary add f32 an input stays fp32
// LAST: precision f16 in @other_types: 0 ops in f16, 0 in f32; 0 casts; 0 constants converted (0 elements, 0 clamped)
// IO-LABEL:    func @chain
// IO-SAME:     (%{{.*}}: tensor<4x8xbf16>, %{{.*}}: tensor<8x8xbf16>) -> (tensor<8x8xbf16>, tensor<8x8xbf16>)
func.func @chain(%x: tensor<4x8xf32>, %y: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %w = ds.constant dense<0.25> : tensor<8x8xf32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("fc")
  %1 = ds.transpose %0 {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %2 = ds.matmul %1, %x : (tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x8xf32> loc("fc2")
  %3 = ds.binary add %2, %y : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32> loc("res")
  return %3, %2 : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// A reduction over axes a run decides accumulates in f32 like ds.reduce.
// CHECK-LABEL: func @reduce_axes_by_value
// CHECK:       %[[M:.*]] = ds.matmul {{.*}} -> tensor<4x16xbf16>
// CHECK:       %[[MF:.*]] = ds.cast %[[M]] : tensor<4x16xbf16> to tensor<4x16xf32>
// CHECK:       ds.dynamic_reduce sum %[[MF]], %{{.*}} {keepdims = true} : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<?x?xf32>
func.func @reduce_axes_by_value(%x: tensor<4x8xf32>, %axes: tensor<1xi64>) -> tensor<?x?xf32> {
  %w = ds.constant dense<0.5> : tensor<8x16xf32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.dynamic_reduce sum %0, %axes {keepdims = true} : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// -----

// f64 and integer work is left alone; so is an op the model already runs in
// f16.
// CHECK-LABEL: func @other_types
// CHECK-NOT:   bf16
// CHECK:       return
func.func @other_types(%a: tensor<2x2xf64>, %i: tensor<2x2xi32>, %h: tensor<2x2xf16>)
    -> (tensor<2x2xf64>, tensor<2x2xi32>, tensor<2x2xf16>) {
  %0 = ds.matmul %a, %a : (tensor<2x2xf64>, tensor<2x2xf64>) -> tensor<2x2xf64>
  %1 = ds.matmul %i, %i : (tensor<2x2xi32>, tensor<2x2xi32>) -> tensor<2x2xi32>
  %2 = ds.matmul %h, %h : (tensor<2x2xf16>, tensor<2x2xf16>) -> tensor<2x2xf16>
  return %0, %1, %2 : tensor<2x2xf64>, tensor<2x2xi32>, tensor<2x2xf16>
}

