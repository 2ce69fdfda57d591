// RUN: ds-opt %s --split-input-file --ds-cost-report="output=/dev/null" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --split-input-file --ds-cost-report="format=csv" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not ds-opt %s --split-input-file --ds-cost-report="output=%t.missing/report.txt" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WRITE
// What ds-cost-report refuses: a module without @main, an unknown format, a
// file it cannot write.

// FORMAT: error: ds-cost-report: format must be text or json, not 'csv'
// WRITE: error: ds-cost-report: cannot write '{{.*}}report.txt'
// expected-error @+1 {{ds-cost-report: no func.func @main with one block}}
module {
  func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// expected-error @+1 {{ds-cost-report: no func.func @main with one block}}
module {
  func.func private @main(tensor<4xf32>) -> tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ds.unary relu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
