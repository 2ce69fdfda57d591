//===- QuantImporters.cpp - ONNX quantization ops to ds --------------------===//
//
// QuantizeLinear / DequantizeLinear map to ds.quantize / ds.dequantize. The
// integer-arithmetic ops become what they mean: MatMulInteger an i32 matmul of
// zero-point-shifted inputs (ds-fold-integer-matmul re-forms
// ds.matmul_integer), ConvInteger ds.conv_integer directly; the QLinear ops become
// dequantize -> float op -> quantize, which is their defined meaning; the
// quantization passes re-fuse these into integer kernels.
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
LogicalResult importQuantize(NodeImporter &n) {
  auto x = n.required(0, "x"), scale = n.required(1, "y_scale");
  if (failed(x) || failed(scale))
    return failure();
  Value zp = n.input(2);
  Type quantized;
  if (zp) {
    quantized = n.typeOf(zp).getElementType();
  } else if (int64_t dtype = n.attrInt("output_dtype", 0)) {
    quantized = convertElementType(dtype, n.builder.getContext());
    if (!quantized)
      return n.error() << "unsupported output_dtype " << onnxTypeName(dtype);
  } else {
    quantized = n.builder.getIntegerType(8, false);
  }
  Value scaleV = *scale;
  Type inElement = n.typeOf(*x).getElementType();
  if (n.typeOf(scaleV).getElementType() != inElement)
    scaleV = n.castTo(scaleV, inElement);
  return n.produce({n.createTyped<QuantizeOp>(n.typeOf(*x).clone(quantized), *x, scaleV, zp,
                                            n.attrInt("axis", 1), n.attrInt("block_size", 0),
                                            n.attrInt("saturate", 1) != 0)});
}

LogicalResult importDequantize(NodeImporter &n) {
  auto x = n.required(0, "x"), scale = n.required(1, "x_scale");
  if (failed(x) || failed(scale))
    return failure();
  Type out = n.typeOf(*scale).getElementType();
  if (int64_t dtype = n.attrInt("output_dtype", 0)) {
    out = convertElementType(dtype, n.builder.getContext());
    if (!out)
      return n.error() << "unsupported output_dtype " << onnxTypeName(dtype);
  }
  Value scaleV = n.castTo(*scale, out);
  return n.produce({n.createTyped<DequantizeOp>(n.typeOf(*x).clone(out), *x, scaleV, n.input(2),
                                              n.attrInt("axis", 1),
                                              n.attrInt("block_size", 0))});
}

LogicalResult importDynamicQuantize(NodeImporter &n) {
  auto x = n.required(0, "x");
  if (failed(x))
    return failure();
  auto results = n.createN<DynamicQuantizeOp, 3>(*x);
  if (results.size() != 3)
    return failure();
  return n.produce(results);
}

/// (x - zero_point) widened to i32; zero_point broadcasts along `axis` if 1-D.
Value shiftToI32(NodeImporter &n, Value x, Value zp, int64_t axis) {
  Type i32 = n.builder.getI32Type();
  Value wide = n.castTo(x, i32);
  if (!zp || !wide)
    return wide;
  Value zpWide = n.castTo(zp, i32);
  auto zpType = n.typeOf(zp);
  int64_t rank = n.typeOf(x).getRank();
  if (zpType.getRank() == 1 && zpType.getDimSize(0) != 1 && axis != rank - 1) {
    SmallVector<int64_t> shape{-1};
    shape.append(rank - 1 - axis, 1);
    zpWide = n.reshape(zpWide, shape);
  }
  return zpWide ? n.binary(BinaryKind::sub, wide, zpWide) : Value();
}

LogicalResult importMatMulInteger(NodeImporter &n) {
  auto a = n.required(0, "A"), b = n.required(1, "B");
  if (failed(a) || failed(b))
    return failure();
  int64_t aRank = n.typeOf(*a).getRank(), bRank = n.typeOf(*b).getRank();
  // A's zero point is per row (axis -2 of A), B's per column (last axis).
  Value lhs = shiftToI32(n, *a, n.input(2), std::max<int64_t>(aRank - 2, 0));
  Value rhs = shiftToI32(n, *b, n.input(3), bRank - 1);
  return n.produce({lhs && rhs ? n.create<MatMulOp>(lhs, rhs) : Value()});
}

LogicalResult importConvInteger(NodeImporter &n) {
  auto x = n.required(0, "x"), w = n.required(1, "w");
  if (failed(x) || failed(w))
    return failure();
  auto window = readConvWindow(n, n.typeOf(*x), n.typeOf(*w));
  if (failed(window))
    return failure();
  // ds.conv_integer is ConvInteger itself (the runtime's int8 GEMM runs it).
  return n.produce({n.create<ConvIntegerOp>(*x, *w, n.input(2), n.input(3), window->strides,
                                             window->pads, window->dilations,
                                             n.attrInt("group", 1))});
}

/// Dequantizes input `i` with scale `i + 1` and zero point `i + 2`.
Value dequantizeInput(NodeImporter &n, size_t i, int64_t axis) {
  Value x = n.input(i), scale = n.input(i + 1), zp = n.input(i + 2);
  if (!x || !scale)
    return (n.error() << "missing quantized input " << i << " or its scale", Value());
  Type out = n.typeOf(scale).getElementType();
  return n.createTyped<DequantizeOp>(n.typeOf(x).clone(out), x, scale, zp, axis, 0);
}

Value quantizeOutput(NodeImporter &n, Value y, size_t scaleIndex) {
  Value scale = n.input(scaleIndex), zp = n.input(scaleIndex + 1);
  if (!y || !scale)
    return Value();
  Type quantized = zp ? n.typeOf(zp).getElementType() : n.builder.getIntegerType(8, false);
  return n.createTyped<QuantizeOp>(n.typeOf(y).clone(quantized), y, scale, zp, 1, 0, true);
}

LogicalResult importQLinearMatMul(NodeImporter &n) {
  Value a = dequantizeInput(n, 0, 0);
  Value b = dequantizeInput(n, 3, std::max<int64_t>(n.input(3) ? n.typeOf(n.input(3)).getRank() - 1 : 1, 0));
  Value y = a && b ? n.create<MatMulOp>(a, n.castTo(b, n.typeOf(a).getElementType())) : Value();
  if (y && n.typeOf(y).getElementType() != n.typeOf(n.input(6)).getElementType())
    y = n.castTo(y, n.typeOf(n.input(6)).getElementType());
  return n.produce({quantizeOutput(n, y, 6)});
}

LogicalResult importQLinearConv(NodeImporter &n) {
  Value x = dequantizeInput(n, 0, 1);
  Value w = dequantizeInput(n, 3, 0);
  if (!x || !w)
    return failure();
  Value bias = n.input(8);
  if (bias) {
    // The int32 bias is quantized with scale x_scale * w_scale.
    Value scale = n.binary(BinaryKind::mul, n.input(1), n.input(4));
    bias = scale ? n.binary(BinaryKind::mul, n.castTo(bias, n.typeOf(scale).getElementType()),
                            scale)
                 : Value();
    if (!bias)
      return failure();
  }
  auto window = readConvWindow(n, n.typeOf(x), n.typeOf(w));
  if (failed(window))
    return failure();
  Value y = n.create<ConvOp>(x, w, bias, window->strides, window->pads, window->dilations,
                             n.attrInt("group", 1));
  return n.produce({quantizeOutput(n, y, 6)});
}
} // namespace

void onnx_import::registerQuantImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  r.add("QuantizeLinear", 10, all, importQuantize);
  r.add("DequantizeLinear", 10, all, importDequantize);
  r.add("DynamicQuantizeLinear", 1, all, importDynamicQuantize);
  r.add("MatMulInteger", 1, all, importMatMulInteger);
  r.add("ConvInteger", 1, all, importConvInteger);
  r.add("QLinearMatMul", 1, all, importQLinearMatMul);
  r.add("QLinearConv", 1, all, importQLinearConv);
}
