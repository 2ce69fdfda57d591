// policy=auto: the default policy, except the ops the precision table saw
// overflow the low type or miss fp32 by more than the budget.
// RUN: printf '# ds precision table 1\ntype=fp16 samples=4\n0.0003 0 12.5 fc\n0 3 70000 scale\n0.05 0 3.5 fc2\n0.0004 0 2 act\n' > %t.f16
// RUN: printf '# ds precision table 1\ntype=bf16 samples=4\n0.003 0 12.5 fc\n0.001 0 70000 scale\n0.05 0 3.5 fc2\n0.0004 0 2 act\n' > %t.bf16
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.f16 report=-" -o /dev/null | FileCheck %s
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.f16" | FileCheck %s --check-prefix=IR
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.f16 error-budget=0.1 report=-" -o /dev/null | FileCheck %s --check-prefix=BUDGET
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.bf16 report=-" -o /dev/null | FileCheck %s --check-prefix=BF16
// An fp8 table measures the contractions alone (the fp8 policy's ops).
// RUN: printf '# ds precision table 1\ntype=fp8 samples=4\n0.03 0 12.5 fc\n0.2 0 3.5 fc2\n' > %t.fp8
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.fp8 report=-" | FileCheck %s --check-prefix=FP8
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.fp8 error-budget=0.25 report=-" -o /dev/null | FileCheck %s --check-prefix=FP8-BUDGET
// RUN: printf '# ds precision table 1\ntype=fp8 samples=4\n0.03 2 12.5 fc\n0.01 0 3.5 fc2\n' > %t.fp8-overflow
// RUN: ds-opt %s --ds-assign-precision="policy=auto table=%t.fp8-overflow report=-" -o /dev/null | FileCheck %s --check-prefix=FP8-OVERFLOW

// fc is within fp16's budget (16 * 2^-11); the scale overflowed, so fc's
// result goes back to f32 for it; fc2's own error is over the budget; the
// gelu follows fc2's f32 result.
// CHECK:      fc ds.matmul f16 contraction (calibrated error 0.0003)
// CHECK-NEXT: scale ds.binary mul f32 overflows f16 in calibration (3 results not finite), stays fp32
// CHECK-NEXT: fc2 ds.matmul f32 calibrated error 0.05 > budget 0.00781
// CHECK-NEXT: act ds.unary gelu f32 its inputs are fp32
// CHECK-NEXT: sm ds.softmax f32 reduction, stays fp32
// CHECK-NEXT: precision f16 in @mlp: 1 ops in f16, 4 in f32; 2 casts; 1 constants converted
// IR-LABEL: func @mlp
// IR:       %[[M:.*]] = ds.matmul {{.*}} -> tensor<4x16xf16>
// IR:       %[[MF:.*]] = ds.cast %[[M]] : tensor<4x16xf16> to tensor<4x16xf32>
// IR:       ds.binary mul %[[MF]], {{.*}} -> tensor<4x16xf32>
// IR:       ds.matmul {{.*}} -> tensor<4x16xf32>

// A larger budget lets fc2 (and the gelu after it) run in fp16 again; the
// overflow still keeps the scale in f32.
// BUDGET:      scale ds.binary mul f32 overflows f16
// BUDGET-NEXT: fc2 ds.matmul f16 contraction (calibrated error 0.05)
// BUDGET-NEXT: act ds.unary gelu f16 follows its inputs (calibrated error 0.0004)

// The low type is the table's; bf16's budget (16 * 2^-8) holds all four.
// BF16:      fc ds.matmul bf16 contraction (calibrated error 0.003)
// BF16-NEXT: scale ds.binary mul bf16 follows its inputs (calibrated error 0.001)
// BF16-NEXT: fc2 ds.matmul bf16 contraction (calibrated error 0.05)
// BF16-NEXT: act ds.unary gelu bf16 follows its inputs
// fc is within fp8's budget (0.08) and is rounded to e4m3 (its weight
// stored in fp8); fc2 missed fp32 by 0.2 and stays fp32; nothing else is
// an fp8 op.
// FP8-LABEL: func @mlp
// FP8:       %[[W2:.*]] = ds.constant dense<2.500000e-01> : tensor<16x16xf32>
// FP8:       ds.constant {{.*}} : tensor<8x16xf8E4M3FN>
// FP8:       %[[M:.*]] = ds.matmul
// FP8-NEXT:  %[[S:.*]] = ds.binary mul %[[M]]
// FP8-NEXT:  ds.matmul %[[S]], %[[W2]] : (tensor<4x16xf32>, tensor<16x16xf32>)
// FP8:       fc ds.matmul fp8 contraction (emulated e4m3) (calibrated error 0.03)
// FP8-NEXT:  fc2 ds.matmul fp32 calibrated error 0.2 > budget 0.08
// FP8-NEXT:  summary: 1 contractions in fp8 (emulated), 1 constant operands stored in fp8
// FP8-BUDGET:      fc ds.matmul fp8 contraction (emulated e4m3) (calibrated error 0.03)
// FP8-BUDGET-NEXT: fc2 ds.matmul fp8 contraction (emulated e4m3) (calibrated error 0.2)
// FP8-BUDGET-NEXT: summary: 2 contractions in fp8 (emulated), 2 constant operands stored in fp8
// Non-finite values in calibration (an infinite input, say) keep an op fp32.
// FP8-OVERFLOW:      fc ds.matmul fp32 overflows fp8 in calibration (2 results not finite)
// FP8-OVERFLOW-NEXT: fc2 ds.matmul fp8 contraction (emulated e4m3) (calibrated error 0.01)
func.func @mlp(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = ds.constant dense<0.5> : tensor<8x16xf32>
  %s = ds.constant dense<1000.0> : tensor<16xf32>
  %w2 = ds.constant dense<0.25> : tensor<16x16xf32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32> loc("fc")
  %1 = ds.binary mul %0, %s : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> loc("scale")
  %2 = ds.matmul %1, %w2 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32> loc("fc2")
  %3 = ds.unary gelu %2 : (tensor<4x16xf32>) -> tensor<4x16xf32> loc("act")
  %4 = ds.softmax %3 {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32> loc("sm")
  return %4 : tensor<4x16xf32>
}
