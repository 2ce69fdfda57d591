// RUN: ds-opt %s --split-input-file --ds-insert-precision-probes | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-insert-precision-probes="type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: not ds-opt %s --ds-insert-precision-probes="type=fp8" 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: error: ds-insert-precision-probes: unknown type 'fp8' (expected fp16 or bf16)

// Each op mixed precision may lower and that computes runs again on its
// operands rounded to fp16; its own result and the fp16 one (cast back to
// f32) become results after the model's own, named after its node. The
// transpose (exact in any type) and the softmax (kept fp32 by the policy)
// are not measured; the second op named "fc" gets "#2".
// CHECK-LABEL: func @mlp
// CHECK-SAME:  -> (tensor<4x16xf32>, tensor<4x16xf32> {ds.name = "ds.precision:0:fc"}, tensor<4x16xf32> {ds.name = "ds.precision-fp16:0:fc"},
// CHECK-SAME:  tensor<4x16xf32> {ds.name = "ds.precision:0:act"}, tensor<4x16xf32> {ds.name = "ds.precision-fp16:0:act"},
// CHECK-SAME:  tensor<16x16xf32> {ds.name = "ds.precision:0:fc#2"}, tensor<16x16xf32> {ds.name = "ds.precision-fp16:0:fc#2"})
// CHECK:       %[[M:.*]] = ds.matmul %[[X:.*]], %[[W:.*]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:  %[[XL:.*]] = ds.cast %[[X]] : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK-NEXT:  %[[WL:.*]] = ds.cast %[[W]] : tensor<8x16xf32> to tensor<8x16xf16>
// CHECK-NEXT:  %[[ML:.*]] = ds.matmul %[[XL]], %[[WL]] : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
// CHECK-NEXT:  %[[MB:.*]] = ds.cast %[[ML]] : tensor<4x16xf16> to tensor<4x16xf32>
// CHECK:       %[[G:.*]] = ds.unary gelu %[[M]]
// CHECK-NEXT:  %[[GL:.*]] = ds.cast %[[M]] : tensor<4x16xf32> to tensor<4x16xf16>
// CHECK-NEXT:  ds.unary gelu %[[GL]] : (tensor<4x16xf16>) -> tensor<4x16xf16>
// CHECK:       ds.transpose
// CHECK-NOT:   ds.transpose
// CHECK:       ds.softmax
// CHECK-NOT:   ds.softmax
// CHECK:       return %{{.*}}, %[[M]], %[[MB]], %[[G]],
// BF16-LABEL: func @mlp
// BF16-SAME:  {ds.name = "ds.precision-bf16:0:fc"}
// BF16:       ds.matmul {{.*}} -> tensor<4x16xbf16>
func.func @mlp(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = ds.constant dense<0.5> : tensor<8x16xf32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32> loc("fc")
  %1 = ds.unary gelu %0 : (tensor<4x16xf32>) -> tensor<4x16xf32> loc("act")
  %2 = ds.transpose %1 {perm = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<16x4xf32> loc("t")
  %3 = ds.matmul %2, %1 : (tensor<16x4xf32>, tensor<4x16xf32>) -> tensor<16x16xf32> loc("fc")
  %4 = ds.softmax %3 {axis = -1 : i64} : (tensor<16x16xf32>) -> tensor<16x16xf32> loc("sm")
  return %0 : tensor<4x16xf32>
}

// -----

// Ops with no f32 operand or result, or a float operand of another type,
// are not measured: nothing changes.
// CHECK-LABEL: func @other_types
// CHECK-SAME:  -> tensor<4x4xf16>
// CHECK-NOT:   ds.cast
func.func @other_types(%x: tensor<4x4xf16>, %i: tensor<4x4xi32>) -> tensor<4x4xf16> {
  %0 = ds.binary add %i, %i : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x4xi32>
  %1 = ds.matmul %x, %x : (tensor<4x4xf16>, tensor<4x4xf16>) -> tensor<4x4xf16>
  return %1 : tensor<4x4xf16>
}
