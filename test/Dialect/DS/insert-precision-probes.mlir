// RUN: ds-opt %s --split-input-file --ds-insert-precision-probes | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-insert-precision-probes="type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: ds-opt %s --split-input-file --ds-insert-precision-probes="type=fp8" | FileCheck %s --check-prefix=FP8
// RUN: not ds-opt %s --ds-insert-precision-probes="type=int8" 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: error: ds-insert-precision-probes: unknown type 'int8' (expected fp16, bf16 or fp8)

// Each op mixed precision may lower and that computes runs again on its
// operands rounded to fp16; its own result and the fp16 one (cast back to
// f32) become results after the model's own, named after its node. The
// transpose (exact in any type) and the softmax (kept fp32 by the policy)
// are not measured; the second op named "fc" gets "#2".
// CHECK-LABEL: func @mlp
// CHECK-SAME:  -> (tensor<4x16xf32>, tensor<4x16xf32> {ds.name = "ds.precision:0:fc"}, tensor<4x16xf32> {ds.name = "ds.precision-fp16:0:fc"},
// CHECK-SAME:  tensor<4x16xf32> {ds.name = "ds.precision:0:act"}, tensor<4x16xf32> {ds.name = "ds.precision-fp16:0:act"},
// CHECK-SAME:  tensor<16x16xf32> {ds.name = "ds.precision:0:fc#2"}, tensor<16x16xf32> {ds.name = "ds.precision-fp16:0:fc#2"})
// The constant weight is converted here, as the compile would.
// CHECK:       %[[WL:.*]] = ds.constant dense<5.000000e-01> : tensor<8x16xf16>
// CHECK:       %[[M:.*]] = ds.matmul %[[X:.*]], %[[W:.*]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:  %[[XL:.*]] = ds.cast %[[X]] : tensor<4x8xf32> to tensor<4x8xf16>
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

// fp8 measures the ops the fp8 policy rounds, the two matmuls (under the
// keys the fp16 run gives them): each again on its data operands rounded
// to e4m3, an activation with its own run-time scale, the constant weight
// stored in fp8 with the scale of its maximum; the result stays f32.
// FP8-LABEL: func @mlp
// FP8-SAME:  -> (tensor<4x16xf32>, tensor<4x16xf32> {ds.name = "ds.precision:0:fc"}, tensor<4x16xf32> {ds.name = "ds.precision-fp8:0:fc"},
// FP8-SAME:  tensor<16x16xf32> {ds.name = "ds.precision:0:fc#2"}, tensor<16x16xf32> {ds.name = "ds.precision-fp8:0:fc#2"})
// FP8:       %[[M:.*]] = ds.matmul %[[X:.*]], %[[W:.*]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// FP8:       ds.reduce max
// FP8:       %[[Q:.*]] = ds.quantize %[[X]], {{.*}} -> tensor<4x8xf8E4M3FN>
// FP8-NEXT:  %[[XR:.*]] = ds.dequantize %[[Q]]
// FP8-NEXT:  %[[W8:.*]] = ds.constant dense<4.480000e+02> : tensor<8x16xf8E4M3FN>
// FP8:       %[[WR:.*]] = ds.dequantize %[[W8]]
// FP8-NEXT:  %[[ML:.*]] = ds.matmul %[[XR]], %[[WR]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// FP8:       %[[G:.*]] = ds.unary gelu %[[M]]
// FP8-NOT:   ds.unary gelu
// FP8:       %[[T:.*]] = ds.transpose %[[G]]
// FP8:       %[[M2:.*]] = ds.matmul %[[T]], %[[G]]
// FP8:       ds.quantize %[[T]]
// FP8:       ds.quantize %[[G]]
// FP8:       %[[ML2:.*]] = ds.matmul
// FP8:       return %[[M]], %[[M]], %[[ML]], %[[M2]], %[[ML2]] :
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
// FP8-LABEL: func @other_types
// FP8-NOT:   ds.precision
// CHECK-LABEL: func @other_types
// CHECK-SAME:  -> tensor<4x4xf16>
// CHECK-NOT:   ds.cast
func.func @other_types(%x: tensor<4x4xf16>, %i: tensor<4x4xi32>) -> tensor<4x4xf16> {
  %0 = ds.binary add %i, %i : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x4xi32>
  %1 = ds.matmul %x, %x : (tensor<4x4xf16>, tensor<4x4xf16>) -> tensor<4x4xf16>
  return %1 : tensor<4x4xf16>
}

// -----

// Constants are converted as the compile converts them: 1e6 becomes fp16's
// largest finite value (65504), not an infinity. A rotary embedding
// computes and is measured; Unique's result size depends on the values (it
// stays fp32, unmeasured); ops inside a fusion group are left alone.
// CHECK-LABEL: func @constants_rotary_unique_groups
// CHECK-SAME:  {ds.name = "ds.precision:0:scale"}, {{.*}} {ds.name = "ds.precision-fp16:0:scale"}
// CHECK-SAME:  {ds.name = "ds.precision:0:rope"}, {{.*}} {ds.name = "ds.precision-fp16:0:rope"})
// CHECK-NOT:   ds.precision:0:uniq
// CHECK:       ds.constant dense<6.550400e+04> : tensor<4xf16>
// CHECK:       ds.unique {{.*}} : (tensor<4xf32>)
// CHECK-NOT:   ds.unique
// CHECK:       ds.fusion_group
// CHECK-NOT:   xf16
// CHECK:       ds.yield
func.func @constants_rotary_unique_groups(%x: tensor<4xf32>, %w: tensor<1x2x4x8xf32>, %c: tensor<8x4xf32>, %s: tensor<8x4xf32>, %pos: tensor<1x4xi64>) -> (tensor<4xf32>, tensor<1x2x4x8xf32>, tensor<?xf32>, tensor<4xf32>) {
  %big = ds.constant dense<1.0e+06> : tensor<4xf32>
  %0 = ds.binary mul %x, %big : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc("scale")
  %r = ds.rotary_embedding %w, %c, %s, %pos {num_heads = 0 : i64, rotary_embedding_dim = 0 : i64} : (tensor<1x2x4x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x4xi64>) -> tensor<1x2x4x8xf32> loc("rope")
  %u:4 = ds.unique %x {axis = 0 : i64, sorted = true} : (tensor<4xf32>) -> (tensor<?xf32>, tensor<?xi64>, tensor<4xi64>, tensor<?xi64>) loc("uniq")
  %g = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%in: tensor<4xf32>):
    %e = ds.unary relu %in : (tensor<4xf32>) -> tensor<4xf32>
    ds.yield %e : tensor<4xf32>
  }
  return %0, %r, %u#0, %g : tensor<4xf32>, tensor<1x2x4x8xf32>, tensor<?xf32>, tensor<4xf32>
}

// -----

// A node named like a later op's "#n" key keeps its name; the later op
// takes the next free number.
// CHECK-LABEL: func @key_collision
// CHECK-SAME:  "ds.precision:0:fc"}
// CHECK-SAME:  "ds.precision:0:fc#2"}
// CHECK-SAME:  "ds.precision:0:fc#3"}
func.func @key_collision(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ds.unary relu %x : (tensor<4xf32>) -> tensor<4xf32> loc("fc")
  %1 = ds.unary relu %0 : (tensor<4xf32>) -> tensor<4xf32> loc("fc#2")
  %2 = ds.unary relu %1 : (tensor<4xf32>) -> tensor<4xf32> loc("fc")
  return %2 : tensor<4xf32>
}

// -----

// fp8 rounds attention's q, k and v and every einsum operand; a value two
// of them read (%k here) is rounded once. The relu is not an fp8 op.
// FP8-LABEL: func @attention_einsum
// FP8-SAME:  {ds.name = "ds.precision-fp8:0:attn"}
// FP8-SAME:  {ds.name = "ds.precision-fp8:0:mix"})
// FP8-NOT:   ds.precision-fp8:0:act
// FP8:       ds.quantize {{.*}} -> tensor<1x2x4x8xf8E4M3FN>
// FP8:       %[[KQ:.*]] = ds.quantize %arg1, {{.*}} -> tensor<1x2x4x8xf8E4M3FN>
// FP8-NEXT:  %[[KR:.*]] = ds.dequantize %[[KQ]]
// FP8:       ds.quantize {{.*}} -> tensor<1x2x4x8xf8E4M3FN>
// FP8-NOT:   ds.quantize {{.*}} -> tensor<1x2x4x8xf8E4M3FN>
// FP8:       ds.attention {{.*}}, %[[KR]],
// FP8:       ds.quantize %arg3, {{.*}} -> tensor<1x2x8x4xf8E4M3FN>
// FP8-NEXT:  %[[TR:.*]] = ds.dequantize
// FP8-NOT:   ds.quantize
// FP8:       ds.einsum %[[KR]], %[[TR]]
func.func @attention_einsum(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %t: tensor<1x2x8x4xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>) {
  %a = ds.attention %q, %k, %v : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> loc("attn")
  %r = ds.unary relu %a : (tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> loc("act")
  %m = ds.einsum %k, %t {equation = "bhqd,bhdk->bhqk"} : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32> loc("mix")
  return %r, %m : tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>
}
