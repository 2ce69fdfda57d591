// RUN: ds-opt %s --ds-sparsify-attention="window=16 sinks=2 dense-heads=1,2,1:5" | FileCheck %s
// RUN: ds-opt %s --ds-sparsify-attention="select-blocks=2 block-size=16 dense-heads=0:0,0:1,0:2,0:3,0:4,0:5,0:6,0:7" | FileCheck %s --check-prefix=ALL

// dense-heads=1,2 keeps heads 1 and 2 of every attention dense, 1:5 head 5
// of the second. The heads are cut into runs of one pattern that read whole
// KV groups or lie within one (4 query heads per KV head here), and the
// results are put back in head order.
// CHECK-LABEL: func.func @gqa
// First attention: head 0 sparse, heads 1-2 dense, head 3 sparse (all on KV head 0),
// heads 4-7 sparse (KV head 1).
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[Q0:.*]] = ds.slice %arg0, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[K0:.*]] = ds.slice %arg1, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[V0:.*]] = ds.slice %arg2, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK-NEXT: %[[A0:.*]] = ds.attention %[[Q0]], %[[K0]], %[[V0]] {is_causal, sink_tokens = 2 : i64, window = 16 : i64}
// CHECK:      ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<3>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[Q1:.*]] = ds.slice %arg0, {{.*}} -> tensor<1x2x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[K1:.*]] = ds.slice %arg1, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[V1:.*]] = ds.slice %arg2, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK-NEXT: %[[A1:.*]] = ds.attention %[[Q1]], %[[K1]], %[[V1]] {is_causal} : (tensor<1x2x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>) -> tensor<1x2x64x16xf32>
// CHECK:      ds.constant dense<3>
// CHECK-NEXT: ds.constant dense<4>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[Q3:.*]] = ds.slice %arg0, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[K3:.*]] = ds.slice %arg1, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<0>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[V3:.*]] = ds.slice %arg2, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK-NEXT: %[[A3:.*]] = ds.attention %[[Q3]], %[[K3]], %[[V3]] {is_causal, sink_tokens = 2 : i64, window = 16 : i64}
// CHECK:      ds.constant dense<4>
// CHECK-NEXT: ds.constant dense<8>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[Q4:.*]] = ds.slice %arg0, {{.*}} -> tensor<1x4x64x16xf32>
// CHECK:      ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<2>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[K4:.*]] = ds.slice %arg1, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK:      ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<2>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: ds.constant dense<1>
// CHECK-NEXT: %[[V4:.*]] = ds.slice %arg2, {{.*}} -> tensor<1x1x64x16xf32>
// CHECK-NEXT: %[[A4:.*]] = ds.attention %[[Q4]], %[[K4]], %[[V4]] {is_causal, sink_tokens = 2 : i64, window = 16 : i64} : (tensor<1x4x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>) -> tensor<1x4x64x16xf32>
// CHECK-NEXT: %[[R0:.*]] = ds.concat %[[A0]], %[[A1]], %[[A3]], %[[A4]] {axis = 1 : i64} : {{.*}} -> tensor<1x8x64x16xf32>
// Second attention: a per-head mask is cut with its heads; head 5 is dense too.
// CHECK:      %[[M0:.*]] = ds.slice %arg3, {{.*}} -> tensor<1x1x64x64xi1>
// CHECK-NEXT: ds.attention {{.*}}, %[[M0]] {is_causal, sink_tokens = 2 : i64, window = 16 : i64} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xi1>)
// CHECK:      ds.attention {{.*}} {is_causal} : (tensor<1x2x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x2x64x64xi1>)
// CHECK:      ds.attention {{.*}} {is_causal, sink_tokens = 2 : i64, window = 16 : i64} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xi1>)
// CHECK:      ds.attention {{.*}} {is_causal, sink_tokens = 2 : i64, window = 16 : i64} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xi1>)
// CHECK:      ds.attention {{.*}} {is_causal} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xi1>)
// CHECK:      ds.attention {{.*}} {is_causal, sink_tokens = 2 : i64, window = 16 : i64} : (tensor<1x2x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x2x64x64xi1>)
// CHECK-NEXT: %[[R1:.*]] = ds.concat {{.*}} {axis = 1 : i64} : (tensor<1x1x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x2x64x16xf32>) -> tensor<1x8x64x16xf32>
// CHECK-NEXT: return %[[R0]], %[[R1]]
// ALL-LABEL: func.func @gqa
// ALL: ds.attention %arg0, %arg1, %arg2 {is_causal} :
// ALL: ds.attention %arg0, %arg1, %arg2, %arg3 {block_size = 16 : i64, is_causal, select_blocks = 2 : i64}
func.func @gqa(%q: tensor<1x8x64x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>, %m: tensor<1x8x64x64xi1>) -> (tensor<1x8x64x16xf32>, tensor<1x8x64x16xf32>) {
  %0 = ds.attention %q, %k, %v {is_causal} : (tensor<1x8x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>) -> tensor<1x8x64x16xf32>
  %1 = ds.attention %q, %k, %v, %m {is_causal} : (tensor<1x8x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x8x64x64xi1>) -> tensor<1x8x64x16xf32>
  return %0, %1 : tensor<1x8x64x16xf32>, tensor<1x8x64x16xf32>
}

