//===- DSBase.td - ds dialect definition and shared constraints -*- tablegen -*-===//
#ifndef DS_DIALECT_DS_IR_DSBASE_TD
#define DS_DIALECT_DS_IR_DSBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def DS_Dialect : Dialect {
  let name = "ds";
  let cppNamespace = "::mlir::ds";
  let summary = "Tensor-level IR of the ds compiler";
  let description = [{
    A compact, canonical set of tensor operations that ONNX models import into.
    Several ONNX spellings of one computation map to one ds op (Gemm becomes
    `ds.matmul` plus elementwise ops, Squeeze/Unsqueeze/Flatten become
    `ds.reshape`, the elementwise families carry their function as a `kind`).
    Every op infers its result type; unknown dimensions are `?`.
  }];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 0;
}

// Element types ds tensors may carry (those ONNX has and MLIR can spell).
def DS_Float : AnyTypeOf<[F64, F32, F16, BF16, F8E4M3FN, F8E5M2, F8E4M3FNUZ,
                          F8E5M2FNUZ]>;
def DS_Int : AnyTypeOf<[I64, I32, I16, I8, I<4>, I<2>, UI64, UI32, UI16, UI8, UI<4>, UI<2>]>;
def DS_ElementType : AnyTypeOf<[DS_Float, DS_Int, I1]>;
def DS_Tensor : RankedTensorOf<[DS_ElementType]>;
def DS_BoolTensor : RankedTensorOf<[I1]>;
def DS_IndexTensor : RankedTensorOf<[I64, I32]>;

class DS_Op<string mnemonic, list<Trait> traits = []> :
    Op<DS_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

// What an op does (dsx_op_class of ds_artifact_format.h), declared once here
// and read with ds::getOpClass by fusion, the backends and, through the
// artifact, the runtime.
class DS_OpClass<string name> : ParamNativeOpTrait<"ds::OpClassTrait", "DSX_OP_" # name>;
def DS_ElementwiseClass : DS_OpClass<"ELEMENTWISE">;
def DS_ReductionClass : DS_OpClass<"REDUCTION">;
def DS_WindowClass : DS_OpClass<"WINDOW">;
def DS_ContractionClass : DS_OpClass<"CONTRACTION">;
def DS_AttentionClass : DS_OpClass<"ATTENTION">;
def DS_DataMovementClass : DS_OpClass<"DATA_MOVEMENT">;
def DS_ShapeClass : DS_OpClass<"SHAPE">;
def DS_GeneratorClass : DS_OpClass<"GENERATOR">;
def DS_PrecisionClass : DS_OpClass<"PRECISION">;

// Every result element is a copy of an element of operand 0 (the other
// operands are indices or shapes): an elementwise function of operand 0
// commutes with the op. Passes move dequantization and casts across it.
def DS_SelectsElements : NativeOpTrait<"ds::SelectsElements">;

// The result has operand 0's shape (operand 0 of a norm, the updated tensor
// of a scatter): analyses read the result's sizes from it (SymbolicDims).
def DS_ShapeOfFirstOperand : NativeOpTrait<"ds::ShapeOfFirstOperand">;

//===----------------------------------------------------------------------===//
// Enumerations
//===----------------------------------------------------------------------===//

def DS_UnaryKind : I32EnumAttr<"UnaryKind", "elementwise function of one tensor", [
  I32EnumAttrCase<"abs", 0>, I32EnumAttrCase<"neg", 1>,
  I32EnumAttrCase<"sqrt", 2>, I32EnumAttrCase<"reciprocal", 3>,
  I32EnumAttrCase<"exp", 4>, I32EnumAttrCase<"log", 5>,
  I32EnumAttrCase<"erf", 6>, I32EnumAttrCase<"tanh", 7>,
  I32EnumAttrCase<"sigmoid", 8>, I32EnumAttrCase<"relu", 9>,
  I32EnumAttrCase<"leaky_relu", 10>, I32EnumAttrCase<"elu", 11>,
  I32EnumAttrCase<"selu", 12>, I32EnumAttrCase<"celu", 13>,
  I32EnumAttrCase<"hard_sigmoid", 14>, I32EnumAttrCase<"hard_swish", 15>,
  I32EnumAttrCase<"softplus", 16>, I32EnumAttrCase<"softsign", 17>,
  I32EnumAttrCase<"gelu", 18>, I32EnumAttrCase<"gelu_tanh", 19>,
  I32EnumAttrCase<"mish", 20>, I32EnumAttrCase<"thresholded_relu", 21>,
  I32EnumAttrCase<"shrink", 22>, I32EnumAttrCase<"cos", 23>,
  I32EnumAttrCase<"sin", 24>, I32EnumAttrCase<"tan", 25>,
  I32EnumAttrCase<"acos", 26>, I32EnumAttrCase<"asin", 27>,
  I32EnumAttrCase<"atan", 28>, I32EnumAttrCase<"cosh", 29>,
  I32EnumAttrCase<"sinh", 30>, I32EnumAttrCase<"acosh", 31>,
  I32EnumAttrCase<"asinh", 32>, I32EnumAttrCase<"atanh", 33>,
  I32EnumAttrCase<"floor", 34>, I32EnumAttrCase<"ceil", 35>,
  I32EnumAttrCase<"round", 36>, I32EnumAttrCase<"sign", 37>,
  I32EnumAttrCase<"logical_not", 38, "not">, I32EnumAttrCase<"bitwise_not", 39>,
  I32EnumAttrCase<"is_nan", 40>, I32EnumAttrCase<"is_inf", 41>,
  I32EnumAttrCase<"is_pos_inf", 42>, I32EnumAttrCase<"is_neg_inf", 43>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_BinaryKind : I32EnumAttr<"BinaryKind", "elementwise function of two tensors", [
  I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"sub", 1>,
  I32EnumAttrCase<"mul", 2>, I32EnumAttrCase<"div", 3>,
  I32EnumAttrCase<"pow", 4>, I32EnumAttrCase<"min", 5>,
  I32EnumAttrCase<"max", 6>, I32EnumAttrCase<"mod", 7>,
  I32EnumAttrCase<"fmod", 8>, I32EnumAttrCase<"logical_and", 9, "and">,
  I32EnumAttrCase<"logical_or", 10, "or">, I32EnumAttrCase<"logical_xor", 11, "xor">,
  I32EnumAttrCase<"bitwise_and", 12>, I32EnumAttrCase<"bitwise_or", 13>,
  I32EnumAttrCase<"bitwise_xor", 14>, I32EnumAttrCase<"shift_left", 15>,
  I32EnumAttrCase<"shift_right", 16>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_CompareKind : I32EnumAttr<"CompareKind", "elementwise comparison", [
  I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"lt", 1>, I32EnumAttrCase<"le", 2>,
  I32EnumAttrCase<"gt", 3>, I32EnumAttrCase<"ge", 4>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_ReduceKind : I32EnumAttr<"ReduceKind", "reduction function", [
  I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
  I32EnumAttrCase<"max", 2>, I32EnumAttrCase<"min", 3>,
  I32EnumAttrCase<"prod", 4>, I32EnumAttrCase<"sum_square", 5>,
  I32EnumAttrCase<"l1", 6>, I32EnumAttrCase<"l2", 7>,
  I32EnumAttrCase<"log_sum", 8>, I32EnumAttrCase<"log_sum_exp", 9>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_ArgReduceKind : I32EnumAttr<"ArgReduceKind", "index-of reduction", [
  I32EnumAttrCase<"argmax", 0>, I32EnumAttrCase<"argmin", 1>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_PoolKind : I32EnumAttr<"PoolKind", "sliding-window reduction", [
  I32EnumAttrCase<"max", 0>, I32EnumAttrCase<"avg", 1>, I32EnumAttrCase<"lp", 2>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_NormKind : I32EnumAttr<"NormKind", "normalization over trailing axes", [
  I32EnumAttrCase<"mean_var", 0>, I32EnumAttrCase<"rms", 1>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_PadMode : I32EnumAttr<"PadMode", "how padding values are produced", [
  I32EnumAttrCase<"constant", 0>, I32EnumAttrCase<"reflect", 1>,
  I32EnumAttrCase<"edge", 2>, I32EnumAttrCase<"wrap", 3>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_ScatterReduction : I32EnumAttr<"ScatterReduction", "how scattered updates combine", [
  I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"add", 1>, I32EnumAttrCase<"mul", 2>,
  I32EnumAttrCase<"max", 3>, I32EnumAttrCase<"min", 4>]> {
  let cppNamespace = "::mlir::ds";
}

def DS_FusionKind : I32EnumAttr<"FusionKind", "what a fusion group computes", [
  I32EnumAttrCase<"elementwise", 0>,  // elementwise chain with broadcasts
  I32EnumAttrCase<"reduction", 1>,    // a reduction with its producers and consumers
  I32EnumAttrCase<"contraction", 2>,  // matmul / conv with its epilogue
  I32EnumAttrCase<"attention", 3>,    // one ds.attention
  I32EnumAttrCase<"data_movement", 4> // transpose, gather, concat, slice, pad...
  ]> {
  let cppNamespace = "::mlir::ds";
}

#endif // DS_DIALECT_DS_IR_DSBASE_TD
