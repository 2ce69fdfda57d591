//===- DSOps.td - ds dialect operations ------------------------*- tablegen -*-===//
#ifndef DS_DIALECT_DS_IR_DSOPS_TD
#define DS_DIALECT_DS_IR_DSOPS_TD

include "ds/Dialect/DS/IR/DSBase.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

// Ops whose result types follow from operands and attributes.
// A declared result type may be more static than the inferred one (a `?`
// resolved by an earlier pass or by the user), never in conflict with it.
class DS_InferredOp<string mnemonic, list<Trait> traits = []> :
    DS_Op<mnemonic, !listconcat(traits, [Pure, InferTypeOpAdaptor])> {
  let extraClassDeclaration = [{
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual) {
      return ::mlir::ds::areCompatibleTensorTypes(inferred, actual);
    }
  }];
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def DS_ConstantOp : DS_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "tensor constant (weights, shape tensors, scalars)";
  let description = [{
    Holds a constant tensor. Large weights use `dense_resource` blobs so that
    printed IR stays small and the bytes are handed over once.

    ```mlir
    %0 = ds.constant dense<[1, 128]> : tensor<2xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$value attr-dict";
  let hasFolder = 1;
}

def DS_FillOp : DS_InferredOp<"fill", [DS_GeneratorClass]> {
  let summary = "tensor of a given shape filled with one value (ConstantOfShape)";
  let description = [{
    ```mlir
    %0 = ds.fill %shape {value = dense<0.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins DS_IndexTensor:$shape, ElementsAttr:$value);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_RangeOp : DS_InferredOp<"range", [DS_GeneratorClass]> {
  let summary = "1-D arithmetic sequence [start, limit) by delta";
  let description = [{
    ```mlir
    %0 = ds.range %start, %limit, %delta : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
    ```
  }];
  let arguments = (ins DS_Tensor:$start, DS_Tensor:$limit, DS_Tensor:$delta);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

def DS_UnaryOp : DS_InferredOp<"unary", [DS_ShapeOfFirstOperand, DS_ElementwiseClass]> {
  let summary = "elementwise function of one tensor";
  let description = [{
    One op for every elementwise function of one input; `kind` names it. The
    parametrised kinds read `alpha` / `beta` (leaky_relu, elu, selu, celu,
    hard_sigmoid, thresholded_relu, shrink). `is_*` kinds produce `i1`.

    ```mlir
    %0 = ds.unary erf %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %1 = ds.unary leaky_relu %x {alpha = 1.000000e-01 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins DS_UnaryKind:$kind, DS_Tensor:$input,
                       OptionalAttr<F64Attr>:$alpha, OptionalAttr<F64Attr>:$beta);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def DS_BinaryOp : DS_InferredOp<"binary", [DS_ElementwiseClass]> {
  let summary = "elementwise function of two tensors with numpy broadcasting";
  let description = [{
    ```mlir
    %0 = ds.binary add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
    Operands share one element type, except `pow`, whose exponent may differ.
    `mod` follows the sign of the divisor (Python), `fmod` that of the dividend (C).
  }];
  let arguments = (ins DS_BinaryKind:$kind, DS_Tensor:$lhs, DS_Tensor:$rhs);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def DS_CompareOp : DS_InferredOp<"compare", [DS_ElementwiseClass]> {
  let summary = "elementwise comparison with broadcasting, producing i1";
  let description = [{
    ```mlir
    %0 = ds.compare lt %a, %b : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins DS_CompareKind:$kind, DS_Tensor:$lhs, DS_Tensor:$rhs);
  let results = (outs DS_BoolTensor:$result);
  let assemblyFormat = "$kind $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def DS_SelectOp : DS_InferredOp<"select", [DS_ElementwiseClass]> {
  let summary = "elementwise choice between two tensors (Where)";
  let description = [{
    ```mlir
    %0 = ds.select %c, %a, %b : (tensor<4x4xi1>, tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins DS_BoolTensor:$condition, DS_Tensor:$true_value,
                       DS_Tensor:$false_value);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_CastOp : DS_Op<"cast", [DS_ShapeOfFirstOperand, DS_ElementwiseClass, Pure]> {
  let summary = "element type conversion";
  let description = [{
    Converts each element to the result's element type (Cast, CastLike).
    `saturate` clamps out-of-range values when converting to float8.

    ```mlir
    %0 = ds.cast %x : tensor<4xf32> to tensor<4xf16>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, UnitAttr:$saturate);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasFolder = 1;
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and windows
//===----------------------------------------------------------------------===//

def DS_MatMulOp : DS_InferredOp<"matmul", [DS_ContractionClass]> {
  let summary = "batched matrix product with numpy semantics";
  let description = [{
    Leading dims broadcast; a 1-D operand is promoted as numpy.matmul does.
    Integer operands accumulate in their own type (use i32 inputs for
    MatMulInteger semantics).

    ```mlir
    %0 = ds.matmul %a, %b : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$lhs, DS_Tensor:$rhs);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def DS_MatMulIntegerOp : DS_InferredOp<"matmul_integer",
    [DS_ContractionClass, AttrSizedOperandSegments]> {
  let summary = "matrix product of 8-bit integers minus zero points, accumulated in i32";
  let description = [{
    `(lhs - lhs_zero_point) x (rhs - rhs_zero_point)` with numpy matmul
    broadcasting, every product and sum exact in i32 (ONNX MatMulInteger).
    The lhs zero point is one value; the rhs zero point is one value or one
    per column (a 1-D tensor of the rhs's last dim). Absent zero points are
    0. `ds-fold-integer-matmul` forms it from the widening casts and
    subtractions the importer writes, so the runtime can run it on an int8
    GEMM.

    ```mlir
    %0 = ds.matmul_integer %a, %b lhs_zero_point %za rhs_zero_point %zb : (tensor<2x8x16xui8>, tensor<16x4xi8>, tensor<ui8>, tensor<4xi8>) -> tensor<2x8x4xi32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8, UI8]>:$lhs, RankedTensorOf<[I8, UI8]>:$rhs,
                       Optional<RankedTensorOf<[I8, UI8]>>:$lhs_zero_point,
                       Optional<RankedTensorOf<[I8, UI8]>>:$rhs_zero_point);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`lhs_zero_point` $lhs_zero_point^)? (`rhs_zero_point` $rhs_zero_point^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DS_MatMulQuantizedWeightOp : DS_InferredOp<"matmul_quantized_weight",
    [DS_ContractionClass]> {
  let summary = "f32 matrix product with an 8- or 4-bit weight dequantized on the fly";
  let description = [{
    `lhs x dequantize(weight)`: the [K, N] weight holds integers, each
    dequantized as `(w - zero_point) * scale`, where `scale` (and the
    optional `zero_point`, of the weight's type) is one value, one per
    column ([N], `block_size` 0) or one per column and block of
    `block_size` rows ([ceil(K / block_size), N]). The lhs broadcasts like
    `ds.matmul`'s (rank >= 2, the weight has none of its batch dims).
    `ds-fold-weight-dequantize` forms it from `ds.dequantize` of constants
    feeding a `ds.matmul` (weight-only quantized models, and
    `ds-quantize-weights`), so that the weight is read in its own width
    instead of materialized in f32.

    ```mlir
    %0 = ds.matmul_quantized_weight %x, %w, %s {block_size = 32 : i64} : (tensor<1x64xf32>, tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<1x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$lhs,
                       RankedTensorOf<[I8, UI8, I<4>, UI<4>]>:$weight,
                       RankedTensorOf<[F32]>:$scale,
                       Optional<RankedTensorOf<[I8, UI8, I<4>, UI<4>]>>:$zero_point,
                       I64Attr:$block_size);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $weight `,` $scale (`zero_point` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DS_EinsumOp : DS_InferredOp<"einsum", [DS_ContractionClass]> {
  let summary = "Einstein summation";
  let description = [{
    ```mlir
    %0 = ds.einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
    ```
  }];
  let arguments = (ins Variadic<DS_Tensor>:$inputs, StrAttr:$equation);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def DS_ConvOp : DS_InferredOp<"conv", [DS_ContractionClass]> {
  let summary = "N-d grouped convolution (NC[spatial] layout)";
  let description = [{
    `pads` holds all begin pads then all end pads; auto_pad is resolved at import.

    ```mlir
    %0 = ds.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64,
           pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
         : (tensor<1x3x32x32xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x32x32xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_Tensor:$weight,
                       Optional<DS_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def DS_ConvIntegerOp : DS_InferredOp<"conv_integer",
    [DS_ContractionClass, AttrSizedOperandSegments]> {
  let summary = "convolution of 8-bit integers minus zero points, accumulated in i32";
  let description = [{
    ONNX ConvInteger: `ds.conv` of `(input - input_zero_point)` and
    `(weight - weight_zero_point)`, every product and sum exact in i32.
    Padding reads as the input's zero point (a 0 after the subtraction). The
    input zero point is one value; the weight's one value or one per output
    channel (1-D of the weight's dim 0). Absent zero points are 0. The
    importer writes ConvInteger as this op and `ds-fold-integer-matmul`
    forms it from dequantized convolutions of QDQ models, so the runtime runs
    it on an int8 GEMM.

    ```mlir
    %0 = ds.conv_integer %x, %w input_zero_point %zx {dilations = array<i64: 1, 1>, group = 1 : i64,
           pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
         : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<ui8>) -> tensor<1x4x8x8xi32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8, UI8]>:$input, RankedTensorOf<[I8, UI8]>:$weight,
                       Optional<RankedTensorOf<[I8, UI8]>>:$input_zero_point,
                       Optional<RankedTensorOf<[I8, UI8]>>:$weight_zero_point,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`input_zero_point` $input_zero_point^)?
    (`weight_zero_point` $weight_zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DS_ConvTransposeOp : DS_InferredOp<"conv_transpose", [DS_ContractionClass]> {
  let summary = "N-d grouped transposed convolution";
  let description = [{
    Weight layout is [C_in, C_out / group, k...]. Output dims are
    `stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end`.

    ```mlir
    %0 = ds.conv_transpose %x, %w {dilations = array<i64: 1>, group = 1 : i64,
           output_padding = array<i64: 0>, pads = array<i64: 0, 0>, strides = array<i64: 2>}
         : (tensor<1x4x8xf32>, tensor<4x2x3xf32>) -> tensor<1x2x17xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_Tensor:$weight,
                       Optional<DS_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group,
                       DenseI64ArrayAttr:$output_padding);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def DS_PoolOp : DS_InferredOp<"pool", [DS_WindowClass]> {
  let summary = "sliding-window max / average / Lp pooling";
  let description = [{
    ```mlir
    %0 = ds.pool max %x {ceil_mode = false, count_include_pad = false,
           dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>,
           pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
         : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = (ins DS_PoolKind:$kind, DS_Tensor:$input,
                       DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       BoolAttr:$ceil_mode, BoolAttr:$count_include_pad,
                       DefaultValuedAttr<I64Attr, "2">:$p);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// A max pool every window of which holds an input element: no ceil
    /// mode or dilation, pads narrower than the kernel, static spatial dims
    /// of at least 1. Its result is then the max of input elements only, so
    /// it commutes with an increasing map of the elements (a dequantize, a
    /// quantize) applied before or after it; a window wholly in padding
    /// would be the element type's lowest value, which the map moves.
    bool isMaxOverInputsOnly();
  }];
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

def DS_ReduceOp : DS_InferredOp<"reduce", [DS_ReductionClass]> {
  let summary = "reduction over a set of axes";
  let description = [{
    `axes` are non-negative, sorted and unique; an empty list reduces nothing
    (the importer expands ONNX's "all axes" default).

    ```mlir
    %0 = ds.reduce mean %x {axes = array<i64: 2, 3>, keepdims = true} : (tensor<1x8x4x4xf32>) -> tensor<1x8x1x1xf32>
    ```
  }];
  let arguments = (ins DS_ReduceKind:$kind, DS_Tensor:$input,
                       DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def DS_DynamicReduceOp : DS_InferredOp<"dynamic_reduce", [DS_WindowClass]> {
  let summary = "reduction over axes that a run decides";
  let description = [{
    `ds.reduce` over the axes that the 1-D integer operand `axes` holds at run
    time (an ONNX Reduce* whose axes are a graph input). Its length is static
    and non-zero; at run time the axes must be unique and in [-rank, rank).
    The result's rank follows from that length, its dims are `?` except where
    every input dim that could land there is 1. Kept apart from `ds.reduce`
    so that no pass reading a reduction's axes meets one it cannot know; it
    runs alone (window class, like `ds.arg_reduce`).

    ```mlir
    %0 = ds.dynamic_reduce sum %x, %axes {keepdims = true} : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<?x?x?xf32>
    ```
  }];
  let arguments = (ins DS_ReduceKind:$kind, DS_Tensor:$input, DS_IndexTensor:$axes,
                       BoolAttr:$keepdims);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $input `,` $axes attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_ArgReduceOp : DS_InferredOp<"arg_reduce", [DS_WindowClass]> {
  let summary = "index of the largest / smallest element along an axis";
  let description = [{
    ```mlir
    %0 = ds.arg_reduce argmax %x {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<2x5xf32>) -> tensor<2xi64>
    ```
  }];
  let arguments = (ins DS_ArgReduceKind:$kind, DS_Tensor:$input, I64Attr:$axis,
                       BoolAttr:$keepdims, BoolAttr:$select_last_index);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
}

def DS_NormOp : DS_InferredOp<"norm", [DS_ShapeOfFirstOperand, DS_ReductionClass, AttrSizedOperandSegments]> {
  let summary = "layer / RMS normalization over the trailing axes from `axis`";
  let description = [{
    `mean_var`: (x - mean) / sqrt(var + epsilon); `rms`: x / sqrt(mean(x^2) + epsilon),
    both over axes [axis, rank), then times `scale` and plus `bias`, which
    broadcast against the input.

    ```mlir
    %0 = ds.norm rms %x, %g {axis = -1 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins DS_NormKind:$kind, DS_Tensor:$input,
                       Optional<DS_Tensor>:$scale, Optional<DS_Tensor>:$bias,
                       I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$kind operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_SoftmaxOp : DS_InferredOp<"softmax", [DS_ShapeOfFirstOperand, DS_ReductionClass]> {
  let summary = "softmax (or log-softmax) along one axis";
  let description = [{
    ```mlir
    %0 = ds.softmax %x {axis = -1 : i64} : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
    %1 = ds.softmax %x {axis = 1 : i64, log} : (tensor<2x10xf32>) -> tensor<2x10xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, I64Attr:$axis, UnitAttr:$log);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_CumSumOp : DS_InferredOp<"cumsum", [DS_ShapeOfFirstOperand, DS_WindowClass]> {
  let summary = "cumulative sum (or product) along an axis";
  let description = [{
    ```mlir
    %0 = ds.cumsum %x {axis = 0 : i64, exclusive = false, reverse = false} : (tensor<5xf32>) -> tensor<5xf32>
    ```
    The axis is `axis`, or, when the optional `axis_value` operand is given
    (an ONNX CumSum whose axis is a graph input), the one integer it holds at
    run time (`axis` is then 0 and unused): the result has the input's shape
    either way.
  }];
  let arguments = (ins DS_Tensor:$input, Optional<DS_IndexTensor>:$axis_value, I64Attr:$axis,
                       BoolAttr:$exclusive, BoolAttr:$reverse, UnitAttr:$product);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input (`,` $axis_value^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_TopKOp : DS_InferredOp<"topk", [DS_WindowClass]> {
  let summary = "k largest (or smallest) elements along an axis, with indices";
  let description = [{
    ```mlir
    %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true}
           : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$k, I64Attr:$axis,
                       BoolAttr:$largest, BoolAttr:$sorted);
  let results = (outs DS_Tensor:$values, DS_Tensor:$indices);
  let assemblyFormat = "$input `,` $k attr-dict `:` functional-type(operands, results)";
}

def DS_UniqueOp : DS_InferredOp<"unique", [DS_WindowClass]> {
  let summary = "the distinct slices along an axis, with where they occur";
  let description = [{
    Slices along `axis` compare element by element in row-major order
    (numpy.unique with an axis); `sorted` orders them ascending, otherwise
    by first occurrence. Results: the distinct slices (their number is known
    only at run time), the index of each one's first occurrence, the index
    into them of every input slice, and how often each occurs. ONNX Unique
    without an axis imports as this op over the flattened input.

    ```mlir
    %y, %first, %inverse, %counts = ds.unique %x {axis = 0 : i64, sorted = true}
        : (tensor<6xf32>) -> (tensor<?xf32>, tensor<?xi64>, tensor<6xi64>, tensor<?xi64>)
    ```
  }];
  let arguments = (ins DS_Tensor:$input, I64Attr:$axis, BoolAttr:$sorted);
  let results = (outs DS_Tensor:$values, DS_Tensor:$indices, DS_Tensor:$inverse_indices,
                      DS_Tensor:$counts);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

def DS_AssertOp : DS_InferredOp<"assert", [DS_DataMovementClass]> {
  let summary = "passes a value on once a run has checked a condition";
  let description = [{
    The result is `input`; a run whose `condition` has an element that is
    false fails with `message`. The importer guards shape arithmetic on
    values only a run knows with it (Squeeze axes that must be distinct, Split
    sizes that must add up), where the arithmetic alone would go on with a
    wrong shape. Folds away when the condition is a constant true.

    ```mlir
    %0 = ds.assert %ok, %dims {message = "axes must be distinct"} : (tensor<i1>, tensor<2xi64>) -> tensor<2xi64>
    ```
  }];
  let arguments = (ins DS_BoolTensor:$condition, DS_Tensor:$input, StrAttr:$message);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$condition `,` $input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_ShapeOp : DS_InferredOp<"shape", [DS_ShapeClass]> {
  let summary = "the dims [start, end) of a tensor as a 1-D i64 tensor";
  let description = [{
    Folds to a constant when those dims are static; otherwise the runtime
    evaluates it.

    ```mlir
    %0 = ds.shape %x {end = 4 : i64, start = 0 : i64} : (tensor<?x16x4x4xf32>) -> tensor<4xi64>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, I64Attr:$start, I64Attr:$end);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_ReshapeOp : DS_InferredOp<"reshape", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "reshape to a 1-D shape tensor (ONNX 0 / -1 conventions)";
  let description = [{
    A `0` in `shape` copies the input's dim (unless `allowzero`); one `-1`
    is inferred. Squeeze, Unsqueeze and Flatten import to this op.

    ```mlir
    %0 = ds.reshape %x, %s : (tensor<1x16x64xf32>, tensor<4xi64>) -> tensor<1x16x4x16xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$shape, UnitAttr:$allowzero);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def DS_TransposeOp : DS_InferredOp<"transpose", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "permutation of dims";
  let description = [{
    ```mlir
    %0 = ds.transpose %x {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x16xf32>) -> tensor<1x4x16x16xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def DS_ConcatOp : DS_InferredOp<"concat", [DS_DataMovementClass]> {
  let summary = "concatenation along an axis";
  let description = [{
    ```mlir
    %0 = ds.concat %a, %b {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
    ```
  }];
  let arguments = (ins Variadic<DS_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_SliceOp : DS_InferredOp<"slice", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "strided slice with ONNX start / end clamping";
  let description = [{
    `starts`, `ends`, `axes`, `steps` are 1-D of equal length.

    ```mlir
    %0 = ds.slice %x, %starts, %ends, %axes, %steps
         : (tensor<20x10xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x10xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$starts, DS_IndexTensor:$ends,
                       DS_IndexTensor:$axes, DS_IndexTensor:$steps);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_GatherOp : DS_InferredOp<"gather", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "take slices along an axis by index (negative indices wrap)";
  let description = [{
    ```mlir
    %0 = ds.gather %table, %ids {axis = 0 : i64} : (tensor<100x64xf32>, tensor<1x16xi64>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def DS_GatherElementsOp : DS_InferredOp<"gather_elements", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "elementwise gather along an axis; result has the indices' shape";
  let description = [{
    ```mlir
    %0 = ds.gather_elements %x, %i {axis = 1 : i64} : (tensor<3x3xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` functional-type(operands, results)";
}

def DS_GatherNDOp : DS_InferredOp<"gather_nd", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "gather of slices addressed by index tuples";
  let description = [{
    ```mlir
    %0 = ds.gather_nd %x, %i {batch_dims = 0 : i64} : (tensor<2x2xf32>, tensor<2x2xi64>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$indices, I64Attr:$batch_dims);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` functional-type(operands, results)";
}

def DS_ScatterElementsOp : DS_InferredOp<"scatter_elements", [DS_ShapeOfFirstOperand, DS_DataMovementClass]> {
  let summary = "write updates at per-element indices along an axis";
  let description = [{
    ```mlir
    %0 = ds.scatter_elements %x, %i, %u {axis = 1 : i64, reduction = 0 : i32}
         : (tensor<3x3xf32>, tensor<1x2xi64>, tensor<1x2xf32>) -> tensor<3x3xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$indices, DS_Tensor:$updates,
                       I64Attr:$axis, DS_ScatterReduction:$reduction);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_ScatterNDOp : DS_InferredOp<"scatter_nd", [DS_ShapeOfFirstOperand, DS_DataMovementClass]> {
  let summary = "write update slices at index tuples";
  let description = [{
    ```mlir
    %0 = ds.scatter_nd %x, %i, %u {reduction = 0 : i32}
         : (tensor<8xf32>, tensor<4x1xi64>, tensor<4xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$indices, DS_Tensor:$updates,
                       DS_ScatterReduction:$reduction);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_ExpandOp : DS_InferredOp<"expand", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "broadcast to a shape given as a 1-D tensor";
  let description = [{
    ```mlir
    %0 = ds.expand %x, %s : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x6xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$shape);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $shape attr-dict `:` functional-type(operands, results)";
}

def DS_TileOp : DS_InferredOp<"tile", [DS_DataMovementClass, DS_SelectsElements]> {
  let summary = "repeat a tensor along each dim";
  let description = [{
    ```mlir
    %0 = ds.tile %x, %r : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$repeats);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input `,` $repeats attr-dict `:` functional-type(operands, results)";
}

def DS_PadOp : DS_InferredOp<"pad", [DS_DataMovementClass]> {
  let summary = "pad (or crop, with negative pads) every dim";
  let description = [{
    `pads` is 1-D with all begin pads then all end pads.

    ```mlir
    %0 = ds.pad %x, %p, %v {mode = 0 : i32} : (tensor<1x3x4x4xf32>, tensor<8xi64>, tensor<f32>) -> tensor<1x3x6x6xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_IndexTensor:$pads,
                       Optional<DS_Tensor>:$value, DS_PadMode:$mode);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def DS_ResizeOp : DS_InferredOp<"resize", [DS_DataMovementClass, AttrSizedOperandSegments]> {
  let summary = "resampling (nearest, linear, cubic) to given scales or sizes";
  let description = [{
    `scales` or `sizes` is given, with one entry per input dim; with both,
    `sizes` is the result's shape and `scales` maps coordinates (ONNX's
    keep_aspect_ratio_policy: one scale, sizes rounded from it).
    The string attributes keep ONNX's spellings.

    ```mlir
    %0 = ds.resize %x scales(%s) {mode = "nearest", ...} : (tensor<1x1x2x2xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, Optional<DS_Tensor>:$roi,
                       Optional<DS_Tensor>:$scales, Optional<DS_IndexTensor>:$sizes,
                       StrAttr:$mode, StrAttr:$coordinate_transformation_mode,
                       StrAttr:$nearest_mode, F64Attr:$cubic_coeff_a,
                       BoolAttr:$exclude_outside, F64Attr:$extrapolation_value,
                       BoolAttr:$antialias);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = [{
    $input (`roi` `(` $roi^ `)`)? (`scales` `(` $scales^ `)`)? (`sizes` `(` $sizes^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DS_TriluOp : DS_InferredOp<"trilu", [DS_ShapeOfFirstOperand, DS_DataMovementClass]> {
  let summary = "upper or lower triangle of the last two dims";
  let description = [{
    ```mlir
    %0 = ds.trilu %x, %k {upper} : (tensor<4x5xf32>, tensor<i64>) -> tensor<4x5xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, Optional<DS_IndexTensor>:$k, UnitAttr:$upper);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_NonZeroOp : DS_InferredOp<"nonzero", [DS_DataMovementClass]> {
  let summary = "indices of the nonzero elements, one row per input dim";
  let description = [{
    The result is `rank x n` (n, the number of nonzero elements, is known
    only at run time), indices in row-major order of the elements, as ONNX
    NonZero and numpy.nonzero give them. Compress imports to this op and a
    gather.

    ```mlir
    %0 = ds.nonzero %x : (tensor<2x3xi1>) -> tensor<2x?xi64>
    ```
  }];
  let arguments = (ins DS_Tensor:$input);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def DS_QuantizeOp : DS_Op<"quantize", [DS_ShapeOfFirstOperand, DS_PrecisionClass, Pure]> {
  let summary = "affine quantization: saturate(round(x / scale) + zero_point)";
  let description = [{
    Per-tensor (scalar scale), per-axis (1-D scale along `axis`) or blocked
    (`block_size` > 0). The result's element type is the quantized type.

    ```mlir
    %0 = ds.quantize %x, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_Tensor:$scale,
                       Optional<DS_Tensor>:$zero_point, I64Attr:$axis,
                       I64Attr:$block_size, UnitAttr:$saturate);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_DequantizeOp : DS_Op<"dequantize", [DS_ShapeOfFirstOperand, DS_PrecisionClass, Pure]> {
  let summary = "affine dequantization: (x - zero_point) * scale";
  let description = [{
    ```mlir
    %0 = ds.dequantize %q, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_Tensor:$scale,
                       Optional<DS_Tensor>:$zero_point, I64Attr:$axis,
                       I64Attr:$block_size);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_DynamicQuantizeOp : DS_InferredOp<"dynamic_quantize", [DS_PrecisionClass]> {
  let summary = "uint8 quantization with scale and zero point computed from the data";
  let description = [{
    ```mlir
    %y, %s, %zp = ds.dynamic_quantize %x : (tensor<3x4xf32>) -> (tensor<3x4xui8>, tensor<f32>, tensor<ui8>)
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input);
  let results = (outs DS_Tensor:$output, DS_Tensor:$scale, DS_Tensor:$zero_point);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Transformer blocks
//===----------------------------------------------------------------------===//

def DS_AttentionOp : DS_InferredOp<"attention", [DS_AttentionClass]> {
  let summary = "scaled dot-product attention with optional mask, causality and GQA";
  let description = [{
    q: [B, Hq, S, D], k: [B, Hkv, L, D], v: [B, Hkv, L, Dv], Hq a multiple of
    Hkv. `mask` (i1: true keeps; float: added) broadcasts to [B, Hq, S, L].
    `scale` defaults to 1/sqrt(D); `softcap` > 0 applies softcap*tanh(x/softcap)
    to the scores before masking. With `is_causal`, query i sees keys
    j <= i + causal_offset (the offset is the length of a KV cache in front);
    with `causal_from_end` as well, j <= i + (L - S) + causal_offset: the
    diagonal counted from the last key, for a KV cache whose length is only
    known at run time. Causal attention can be made sparse (static
    patterns, set by `ds-sparsify-attention`): with `window` = W > 0 query i
    sees only the W keys ending at its diagonal d(i), d(i) - W < j <= d(i);
    with `sink_tokens` = N it also sees keys j < N (attention sinks,
    StreamingLLM) wherever they are causally visible. With `select_blocks`
    = n and `block_size` = b (1 to 128; NSA-style dynamic selection, at the
    granularity of query blocks): queries and keys are cut in blocks of b
    positions; query block Q = [i0, i1) sees the first key block, the local
    key blocks (those from the one holding key d(i0) - b + 1 to the one
    holding d(i1 - 1)) and the n earlier key blocks C that score highest by
    (sum of Q's queries) · (sum of C's keys), ties to the lower block; within
    them, causality as above. Selection and a window exclude each other.
    Reference semantics: dense softmax(q kᵀ · scale + mask) v; fully masked
    rows give 0.

    ```mlir
    %0 = ds.attention %q, %k, %v {is_causal} : (tensor<1x4x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) -> tensor<1x4x16x16xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       Optional<DS_Tensor>:$mask, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<F64Attr, "0.0">:$softcap,
                       DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end,
                       DefaultValuedAttr<I64Attr, "0">:$window,
                       DefaultValuedAttr<I64Attr, "0">:$sink_tokens,
                       DefaultValuedAttr<I64Attr, "0">:$select_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_SparseAttentionOp : DS_InferredOp<"sparse_attention", [DS_AttentionClass]> {
  let summary = "attention over the keys each query selected (DSA-style top-k)";
  let description = [{
    q: [B, Hq, S, D], k: [B, Hkv, L, D], v: [B, Hkv, L, Dv] as in
    `ds.attention`; `indices` [B, 1 or Hq, S, K] (i64) lists, for each query,
    the keys it attends to (one list shared by all heads, or one per head),
    e.g. the top-k of a lightning indexer (DeepSeek Sparse Attention).
    Semantics: dense attention whose mask keeps only the listed keys, so a
    key listed twice counts once; indices outside [0, L) are an error. With
    `is_causal` (and `causal_offset`, `causal_from_end` as in ds.attention)
    listed keys past a query's diagonal are hidden too; rows left with no
    key give 0. The cost is O(K) per query instead of O(L).

    ```mlir
    %o = ds.sparse_attention %q, %k, %v, %idx {is_causal} : (tensor<1x4x16x8xf32>, tensor<1x4x64x8xf32>, tensor<1x4x64x8xf32>, tensor<1x1x16x8xi64>) -> tensor<1x4x16x8xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       RankedTensorOf<[I64]>:$indices, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def DS_BlockSparseAttentionOp : DS_InferredOp<"block_sparse_attention", [DS_AttentionClass]> {
  let summary = "attention over the key blocks a block layout keeps";
  let description = [{
    q: [B, Hq, S, D], k: [B, Hkv, L, D], v: [B, Hkv, L, Dv] and the optional
    `mask` as in `ds.attention`; `layout` (i1, [1 or Hq, ceil(S / b),
    ceil(L / b)] with b = `block_size`, 1 to 1024) says which blocks of b keys each
    block of b queries sees: query i of head h sees key j only where
    layout[h or 0, i / b, j / b] is true (and, with `is_causal`,
    `causal_offset`, `causal_from_end` as in ds.attention, j is at or before
    its diagonal; and the mask keeps it). This is the block layout of
    Sparse Transformers, BigBird and DeepSpeed's sparse attention: local
    blocks, strided blocks, global blocks, any given pattern, one per head
    or shared. Kernels visit only the kept blocks: the cost follows the
    layout's density. Reference semantics: dense attention with the layout
    expanded into a boolean mask; fully hidden rows give 0.

    ```mlir
    %o = ds.block_sparse_attention %q, %k, %v, %layout {block_size = 64 : i64, is_causal}
        : (tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>, tensor<1x4x4xi1>) -> tensor<1x8x256x64xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       RankedTensorOf<[I1]>:$layout, Optional<DS_Tensor>:$mask,
                       I64Attr:$block_size, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_BlockLayoutOp : DS_InferredOp<"block_layout", [DS_GeneratorClass]> {
  let summary = "a block layout built when the model runs, for lengths known only then";
  let description = [{
    The i1 layout [1, ceil(S / b), ceil(L / b)] of `ds.block_sparse_attention`
    with b = `block_size` (1 to 1024), for S queries and L keys read as
    element 2 of `query_shape` and `key_shape` (the shapes of the attention's
    [B, H, S, D] query and [B, H, L, D] key, from `ds.shape`). With
    `is_causal` (row i's diagonal is key i + `causal_offset`, + L - S with
    `causal_from_end`), query block r keeps the first `global_blocks` key
    blocks, the key blocks from `local_blocks` - 1 before the one holding its
    first row's diagonal through the one holding its last row's, and every
    `stride_blocks`-th key block counting back from the latter. Without it
    (encoders) the diagonal block is r itself, local blocks lie within
    `local_blocks` - 1 on either side, strides count both ways, and the first
    `global_blocks` query blocks see every key block. `ds-sparsify-attention`
    builds the same layout as a constant when the lengths are static; this op
    builds it when the model runs (once per input shape where the shape plan
    keeps it, up to 1 MiB; larger layouts on each run).

    ```mlir
    %l = ds.block_layout %qs, %ks {block_size = 64 : i64, local_blocks = 2 : i64, is_causal, causal_from_end}
        : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
    ```
  }];
  let arguments = (ins DS_IndexTensor:$query_shape, DS_IndexTensor:$key_shape,
                       I64Attr:$block_size,
                       DefaultValuedAttr<I64Attr, "0">:$local_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$stride_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$global_blocks,
                       UnitAttr:$is_causal, DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end);
  let results = (outs RankedTensorOf<[I1]>:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_AttentionGradOp : DS_InferredOp<"attention_grad", [DS_AttentionClass]> {
  let summary = "the gradients of ds.attention's query, key and value (fused backward)";
  let description = [{
    The backward of `ds.attention` with the same operands and attributes:
    given its `query`, `key`, `value`, its result `output` and the result's
    gradient `output_grad`, returns the gradients of the query, key and value
    (shapes and types as theirs; with grouped KV heads the key and value
    gradients sum over the query heads of the group). The probabilities are
    recomputed tile by tile from q and k, as FlashAttention's backward does,
    never held whole: memory is O(S D), not O(S L). `output` gives each
    row's Σ P·dP as Σ dO·O. A mask is taken as given (its own gradient is
    not returned: ds-autodiff keeps the composed backward where it is
    needed). Rows with every key hidden, or a NaN score, pass no gradient.

    ```mlir
    %dq, %dk, %dv = ds.attention_grad %q, %k, %v, %o, %do {is_causal}
        : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
        -> (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       DS_Tensor:$output, DS_Tensor:$output_grad,
                       Optional<DS_Tensor>:$mask, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<F64Attr, "0.0">:$softcap,
                       DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end,
                       DefaultValuedAttr<I64Attr, "0">:$window,
                       DefaultValuedAttr<I64Attr, "0">:$sink_tokens);
  let results = (outs DS_Tensor:$query_grad, DS_Tensor:$key_grad, DS_Tensor:$value_grad);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_SparseAttentionGradOp : DS_InferredOp<"sparse_attention_grad", [DS_AttentionClass]> {
  let summary = "the gradients of ds.sparse_attention's query, key and value (fused backward)";
  let description = [{
    The backward of `ds.sparse_attention` with the same operands and
    attributes: given its `query`, `key`, `value`, `indices`, its result
    `output` and the result's gradient `output_grad`, returns the gradients
    of the query, key and value (shapes and types as theirs). Only the
    listed, causally visible keys of each query take part (a key listed
    twice once), so the work is O(S K), not O(S L); the indices are not
    differentiated (a top-k selection is piecewise constant). Rows left
    with no key, or with a NaN score, pass no gradient.

    ```mlir
    %dq, %dk, %dv = ds.sparse_attention_grad %q, %k, %v, %idx, %o, %do {is_causal}
        : (tensor<1x4x16x8xf32>, tensor<1x4x64x8xf32>, tensor<1x4x64x8xf32>, tensor<1x1x16x8xi64>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
        -> (tensor<1x4x16x8xf32>, tensor<1x4x64x8xf32>, tensor<1x4x64x8xf32>)
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       RankedTensorOf<[I64]>:$indices, DS_Tensor:$output,
                       DS_Tensor:$output_grad, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end);
  let results = (outs DS_Tensor:$query_grad, DS_Tensor:$key_grad, DS_Tensor:$value_grad);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def DS_BlockSparseAttentionGradOp : DS_InferredOp<"block_sparse_attention_grad", [DS_AttentionClass]> {
  let summary = "the gradients of ds.block_sparse_attention's query, key and value (fused backward)";
  let description = [{
    The backward of `ds.block_sparse_attention` with the same operands and
    attributes: given its `query`, `key`, `value`, `layout`, its result
    `output`, the result's gradient `output_grad` and its `mask`, returns
    the gradients of the query, key and value (shapes and types as theirs).
    As `ds.attention_grad`, the probabilities are recomputed tile by tile and
    never held whole; tiles of (query, key) pairs the layout hides are
    skipped, so the cost follows the layout's density.

    ```mlir
    %dq, %dk, %dv = ds.block_sparse_attention_grad %q, %k, %v, %layout, %o, %do {block_size = 64 : i64, is_causal}
        : (tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>, tensor<1x4x4xi1>, tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>)
        -> (tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>, tensor<1x8x256x64xf32>)
    ```
  }];
  let arguments = (ins DS_Tensor:$query, DS_Tensor:$key, DS_Tensor:$value,
                       RankedTensorOf<[I1]>:$layout, DS_Tensor:$output,
                       DS_Tensor:$output_grad, Optional<DS_Tensor>:$mask,
                       I64Attr:$block_size, OptionalAttr<F64Attr>:$scale,
                       UnitAttr:$is_causal, DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                       UnitAttr:$causal_from_end);
  let results = (outs DS_Tensor:$query_grad, DS_Tensor:$key_grad, DS_Tensor:$value_grad);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def DS_RotaryEmbeddingOp : DS_InferredOp<"rotary_embedding", [DS_ShapeOfFirstOperand, DS_DataMovementClass]> {
  let summary = "rotary position embedding on [B, H, S, D] or [B, S, H*D] input";
  let description = [{
    `cos` / `sin` are [B, S, D'/2] when `position_ids` is absent, otherwise
    [max_pos, D'/2] caches indexed by `position_ids` [B, S]. D' is
    `rotary_embedding_dim` (0 = whole head).

    ```mlir
    %0 = ds.rotary_embedding %x, %cos, %sin, %pos {num_heads = 0 : i64, rotary_embedding_dim = 0 : i64}
         : (tensor<1x4x16x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x16xi64>) -> tensor<1x4x16x16xf32>
    ```
  }];
  let arguments = (ins DS_Tensor:$input, DS_Tensor:$cos, DS_Tensor:$sin,
                       Optional<DS_IndexTensor>:$position_ids, UnitAttr:$interleaved,
                       I64Attr:$rotary_embedding_dim, I64Attr:$num_heads);
  let results = (outs DS_Tensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def DS_FusionGroupOp : DS_Op<"fusion_group", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "ops that run as one kernel";
  let description = [{
    Created by `ds-fuse`. The body's block arguments stand for `inputs` (same
    order and types); `ds.yield` returns the group's results. Everything in
    the body runs as one kernel of the backend, so intermediate values never
    reach memory.

    ```mlir
    %r = ds.fusion_group elementwise (%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
    ^bb0(%a: tensor<4x8xf32>, %c: tensor<8xf32>):
      %s = ds.binary add %a, %c : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
      %t = ds.unary relu %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
      ds.yield %t : tensor<4x8xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<DS_Tensor>:$inputs, DS_FusionKind:$kind);
  let results = (outs Variadic<DS_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind ` ` `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "TypeRange":$resultTypes, "ValueRange":$inputs,
                                 "FusionKind":$kind)>];
}

def DS_YieldOp : DS_Op<"yield", [Pure, Terminator, ReturnLike,
                                 HasParent<"FusionGroupOp">]> {
  let summary = "results of a fusion group";
  let arguments = (ins Variadic<DS_Tensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty */ }]>];
}

#endif // DS_DIALECT_DS_IR_DSOPS_TD
