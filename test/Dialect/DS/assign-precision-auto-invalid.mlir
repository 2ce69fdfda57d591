// policy=auto's table: missing, unreadable, malformed, of another model, or
// given to another policy, each a clear error.
// RUN: printf '# ds precision table 1\ntype=fp16 samples=1\n0.001 0 1 fc\n' > %t.other
// RUN: printf '# ds calibration table 1\nmethod=minmax samples=1\n' > %t.calibration
// RUN: printf '# ds precision table 1\ntype=int8 samples=1\n' > %t.int8
// RUN: printf '# ds precision table 1\ntype=fp8 samples=1\n0.03 0 1 fc\n' > %t.fp8-other
// RUN: printf '# ds precision table 1\ntype=fp16 samples=1\n-1 0 1 mm\n' > %t.negative
// RUN: not ds-opt %s --ds-assign-precision="policy=auto" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.calibration" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.int8" 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.negative" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.other error-budget=-1" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not ds-opt %s --ds-assign-precision="policy=fp16 table=%t.other" 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.other" 2>&1 | FileCheck %s --check-prefix=OTHER
// RUN: not ds-opt %s --ds-assign-precision="policy=auto table=%t.fp8-other" 2>&1 | FileCheck %s --check-prefix=OTHER
// NONE: error: ds-assign-precision: policy=auto needs a precision table (table=..., written by ds-calibrate --precision=fp16|bf16|fp8)
// MISSING: error: ds-assign-precision: cannot read the precision table '{{.*}}.missing': No such file or directory
// KIND: error: ds-assign-precision: {{.*}}: line 1: not a ds precision table (expected '# ds precision table 1')
// TYPE: error: ds-assign-precision: {{.*}}: line 2: expected 'type=fp16|bf16|fp8 samples=N'
// NEGATIVE: error: ds-assign-precision: {{.*}}: line 3: the measurements of 'mm' are not an error >= 0, an overflow count and a finite |x|
// BUDGET: error: ds-assign-precision: error-budget must be at least 0 (0: the low type's default)
// POLICY: error: ds-assign-precision: a precision table is read by policy=auto only

// The table knows "fc", not "mm": it was made for another model (an fp8
// table looks up the contractions and attention ops alone, and fails alike).
// OTHER: error: loc("mm"): ds-assign-precision: the precision table has no measurement of 'mm' (ds.matmul): it was calibrated for another model or other compile flags
func.func @other_model(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = ds.matmul %x, %x : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32> loc("mm")
  return %0 : tensor<2x2xf32>
}
