//===- DSDialect.cpp - ds dialect registration ----------------------------===//
#include "ds/Dialect/DS/IR/DSDialect.h"
#include "ds/Dialect/DS/IR/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

#include "ds/Dialect/DS/IR/DSDialect.cpp.inc"
#include "ds/Dialect/DS/IR/DSEnums.cpp.inc"

void DSDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ds/Dialect/DS/IR/DSOps.cpp.inc"
      >();
}

Operation *DSDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

std::optional<StringRef> ds::getNodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = getNodeName(inner))
        return name;
  return std::nullopt;
}

std::string ds::opNameWithKind(Operation *op) {
  std::string name = op->getName().getStringRef().str();
  if (auto kind = op->getAttr("kind")) {
    if (auto unary = dyn_cast<UnaryOp>(op))
      return name + " " + stringifyUnaryKind(unary.getKind()).str();
    if (auto binary = dyn_cast<BinaryOp>(op))
      return name + " " + stringifyBinaryKind(binary.getKind()).str();
    if (auto cmp = dyn_cast<CompareOp>(op))
      return name + " " + stringifyCompareKind(cmp.getKind()).str();
    if (auto reduce = dyn_cast<ReduceOp>(op))
      return name + " " + stringifyReduceKind(reduce.getKind()).str();
    if (auto reduce = dyn_cast<DynamicReduceOp>(op))
      return name + " " + stringifyReduceKind(reduce.getKind()).str();
    if (auto pool = dyn_cast<PoolOp>(op))
      return name + " " + stringifyPoolKind(pool.getKind()).str();
    if (auto norm = dyn_cast<NormOp>(op))
      return name + " " + stringifyNormKind(norm.getKind()).str();
    if (auto arg = dyn_cast<ArgReduceOp>(op))
      return name + " " + stringifyArgReduceKind(arg.getKind()).str();
  }
  return name;
}

#define GET_OP_CLASSES
#include "ds/Dialect/DS/IR/DSOps.cpp.inc"

namespace {
template <dsx_op_class Class> bool hasClass(OperationName name) {
  return name.hasTrait<OpTrait::ds::OpClassTrait<Class>::template Impl>();
}
} // namespace

dsx_op_class mlir::ds::getOpClass(OperationName name) {
  for (auto [has, cls] : {std::pair{&hasClass<DSX_OP_ELEMENTWISE>, DSX_OP_ELEMENTWISE},
                          {&hasClass<DSX_OP_REDUCTION>, DSX_OP_REDUCTION},
                          {&hasClass<DSX_OP_WINDOW>, DSX_OP_WINDOW},
                          {&hasClass<DSX_OP_CONTRACTION>, DSX_OP_CONTRACTION},
                          {&hasClass<DSX_OP_ATTENTION>, DSX_OP_ATTENTION},
                          {&hasClass<DSX_OP_DATA_MOVEMENT>, DSX_OP_DATA_MOVEMENT},
                          {&hasClass<DSX_OP_SHAPE>, DSX_OP_SHAPE},
                          {&hasClass<DSX_OP_GENERATOR>, DSX_OP_GENERATOR},
                          {&hasClass<DSX_OP_PRECISION>, DSX_OP_PRECISION}})
    if (has(name))
      return cls;
  return DSX_OP_OTHER;
}

dsx_op_class mlir::ds::getOpClass(Operation *op) { return getOpClass(op->getName()); }

static constexpr const char *kOpClassNames[] = {
    "other",       "elementwise",   "reduction", "window",    "contraction",
    "attention",   "data_movement", "shape",     "generator", "precision"};
static_assert(std::size(kOpClassNames) == DSX_OP_CLASS_MAX + 1, "one name per op class");

llvm::StringRef mlir::ds::stringifyOpClass(dsx_op_class cls) {
  return (unsigned)cls <= DSX_OP_CLASS_MAX ? kOpClassNames[cls] : "other";
}

std::optional<dsx_op_class> mlir::ds::parseOpClass(llvm::StringRef name) {
  for (unsigned i = 0; i <= DSX_OP_CLASS_MAX; ++i)
    if (name == kOpClassNames[i])
      return (dsx_op_class)i;
  return std::nullopt;
}
