//===- RuntimeContract.cpp - ds op attributes vs the CPU runtime ----------===//
#include "ds/Target/Artifact/RuntimeContract.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cstdint>
#include <vector>

using namespace mlir;
using namespace mlir::ds;

namespace {
enum Kind : uint8_t { // as dsx_attr_tag
  Int = DSX_ATTR_INT,
  Float = DSX_ATTR_FLOAT,
  Ints = DSX_ATTR_INTS,
  Floats = DSX_ATTR_FLOATS,
  String = DSX_ATTR_STRING,
  Tensor = DSX_ATTR_TENSOR,
};
enum Presence : bool { Optional = false, Required = true };

struct AttrRow {
  StringRef name;
  Kind kind;
  bool required;
  int64_t min, max;
  StringRef allowed;
};
struct OpRow {
  StringRef op;
  dsx_op_class opClass;
  std::vector<AttrRow> attrs;
};

const std::vector<OpRow> &contract() {
  static const std::vector<OpRow> table = [] {
    std::vector<OpRow> t;
#define DS_OP(op, cls) t.push_back({op, cls, {}});
#define DS_ATTR(op, name, kind, presence, min, max, allowed)                                    \
  t.back().attrs.push_back({name, kind, presence, (int64_t)(min), (int64_t)(max), allowed});
#include "ds-runtime/ds_op_attributes.def"
    return t;
  }();
  return table;
}

const OpRow *findOp(StringRef name) {
  for (const OpRow &row : contract())
    if (row.op == name)
      return &row;
  return nullptr;
}

/// ds ops that are no step of a CPU artifact.
bool isNotAStep(StringRef name) {
  return name == "ds.constant" || name == "ds.fusion_group" || name == "ds.yield";
}

/// The enum attributes of ds ops: (op, attribute) and every spelling.
struct EnumAttr {
  StringRef op, name;
  std::vector<std::string> spellings; // by value
};

template <typename E, typename Fn>
std::vector<std::string> spellingsOf(unsigned maxValue, Fn stringify) {
  std::vector<std::string> out;
  for (unsigned v = 0; v <= maxValue; ++v)
    out.push_back(stringify((E)v).str());
  return out;
}

const std::vector<EnumAttr> &enumAttrs() {
#define DS_ENUM(OP, NAME, E)                                                                    \
  EnumAttr { OP, NAME, spellingsOf<E>(getMaxEnumValFor##E(), [](E e) { return stringify##E(e); }) }
  static const std::vector<EnumAttr> table = {
      DS_ENUM("ds.unary", "kind", UnaryKind),
      DS_ENUM("ds.binary", "kind", BinaryKind),
      DS_ENUM("ds.compare", "kind", CompareKind),
      DS_ENUM("ds.reduce", "kind", ReduceKind),
      DS_ENUM("ds.dynamic_reduce", "kind", ReduceKind),
      DS_ENUM("ds.arg_reduce", "kind", ArgReduceKind),
      DS_ENUM("ds.pool", "kind", PoolKind),
      DS_ENUM("ds.norm", "kind", NormKind),
      DS_ENUM("ds.scatter_elements", "reduction", ScatterReduction),
      DS_ENUM("ds.scatter_nd", "reduction", ScatterReduction),
      DS_ENUM("ds.pad", "mode", PadMode),
  };
#undef DS_ENUM
  return table;
}

const EnumAttr *findEnum(StringRef op, StringRef name) {
  for (const EnumAttr &e : enumAttrs())
    if (e.op == op && e.name == name)
      return &e;
  return nullptr;
}

SmallVector<StringRef> splitAllowed(StringRef allowed) {
  SmallVector<StringRef> out;
  if (!allowed.empty())
    allowed.split(out, '|');
  return out;
}

bool isSegmentSizes(StringRef name) {
  return name == "operandSegmentSizes" || name == "resultSegmentSizes";
}
} // namespace

std::optional<std::string> mlir::ds::enumSpelling(Operation *op, StringRef name) {
  const EnumAttr *e = findEnum(op->getName().getStringRef(), name);
  if (!e)
    return std::nullopt;
  auto value = dyn_cast_or_null<IntegerAttr>(op->getAttr(name));
  if (!value || value.getValue().getZExtValue() >= e->spellings.size())
    return std::nullopt;
  return e->spellings[value.getValue().getZExtValue()];
}

std::optional<dsx_attr_tag> mlir::ds::stepAttributeTag(Operation *op, StringRef name,
                                                       Attribute value) {
  if (op && findEnum(op->getName().getStringRef(), name))
    return DSX_ATTR_STRING;
  if (isa<BoolAttr, IntegerAttr, UnitAttr>(value))
    return DSX_ATTR_INT;
  if (isa<FloatAttr>(value))
    return DSX_ATTR_FLOAT;
  if (isa<DenseI64ArrayAttr>(value))
    return DSX_ATTR_INTS;
  if (isa<StringAttr>(value))
    return DSX_ATTR_STRING;
  if (isa<ElementsAttr>(value))
    return DSX_ATTR_TENSOR;
  return std::nullopt;
}

const char *mlir::ds::stepAttributeTagName(dsx_attr_tag tag) {
  switch (tag) {
  case DSX_ATTR_INT: return "int";
  case DSX_ATTR_FLOAT: return "float";
  case DSX_ATTR_INTS: return "ints";
  case DSX_ATTR_FLOATS: return "floats";
  case DSX_ATTR_STRING: return "string";
  case DSX_ATTR_TENSOR: return "tensor";
  }
  return "unknown";
}

bool mlir::ds::isRuntimeContractOp(StringRef opName) { return findOp(opName) != nullptr; }

LogicalResult mlir::ds::verifyRuntimeContract(Operation *op) {
  StringRef opName = op->getName().getStringRef();
  const OpRow *row = findOp(opName);
  if (!row)
    return op->emitError("runtime contract: the CPU runtime has no kernel for ")
           << opName << " (include/ds-runtime/ds_op_attributes.def does not list it)";
  bool ok = true;
  auto fail = [&](StringRef name) {
    ok = false;
    return op->emitError("runtime contract: attribute '") << name << "' of " << opName << " ";
  };
  for (NamedAttribute attr : op->getAttrDictionary()) {
    StringRef name = attr.getName().getValue();
    if (isSegmentSizes(name))
      continue;
    const AttrRow *spec = nullptr;
    for (const AttrRow &a : row->attrs)
      if (a.name == name)
        spec = &a;
    if (!spec) {
      fail(name) << "is not one the CPU runtime reads (ds_op_attributes.def does not list it)";
      continue;
    }
    std::optional<dsx_attr_tag> tag = stepAttributeTag(op, name, attr.getValue());
    if (!tag) {
      fail(name) << "cannot be written to an artifact";
      continue;
    }
    if (*tag != (dsx_attr_tag)spec->kind) {
      fail(name) << "would be written as " << stepAttributeTagName(*tag) << ", the runtime expects "
                 << stepAttributeTagName((dsx_attr_tag)spec->kind);
      continue;
    }
    if (spec->kind == Int) {
      int64_t v = 1; // unit
      if (auto b = dyn_cast<BoolAttr>(attr.getValue()))
        v = b.getValue();
      else if (auto i = dyn_cast<IntegerAttr>(attr.getValue()))
        v = i.getValue().getSExtValue();
      if (v < spec->min || v > spec->max)
        fail(name) << "is " << v << ", outside [" << spec->min << ", " << spec->max << "]";
    }
    if (spec->kind == String && !spec->allowed.empty()) {
      std::optional<std::string> spelled = enumSpelling(op, name);
      std::string s = spelled ? *spelled : "";
      if (!spelled)
        if (auto str = dyn_cast<StringAttr>(attr.getValue()))
          s = str.getValue().str();
      if (!llvm::is_contained(splitAllowed(spec->allowed), StringRef(s)))
        fail(name) << "is '" << s << "', the runtime accepts " << spec->allowed;
    }
  }
  for (const AttrRow &a : row->attrs)
    if (a.required && !op->getAttr(a.name))
      fail(a.name) << "is missing; the CPU runtime requires it";
  return success(ok);
}

namespace {
/// How the writer would store ODS attribute `attrName` of `name`, found by
/// asking the op's own attribute constraints (verifyInherentAttrs) which
/// representative value they accept. `unit` is set for unit attributes.
std::optional<Kind> odsKind(RegisteredOperationName name, StringAttr attrName, bool &unit) {
  MLIRContext *ctx = attrName.getContext();
  auto accepts = [&](Attribute candidate) {
    NamedAttrList list;
    list.append(attrName, candidate);
    ScopedDiagnosticHandler silence(ctx, [](Diagnostic &) { return success(); });
    return succeeded(name.verifyInherentAttrs(
        list, [&] { return mlir::emitError(UnknownLoc::get(ctx)); }));
  };
  Builder b(ctx);
  unit = false;
  if (accepts(b.getUnitAttr())) {
    unit = true;
    return Int;
  }
  if (findEnum(name.getStringRef(), attrName.getValue()) && accepts(b.getI32IntegerAttr(0)))
    return String;
  if (accepts(b.getBoolAttr(false)) || accepts(b.getI64IntegerAttr(0)) ||
      accepts(b.getI32IntegerAttr(0)))
    return Int;
  if (accepts(b.getF64FloatAttr(0)))
    return Float;
  if (accepts(b.getDenseI64ArrayAttr({})))
    return Ints;
  if (accepts(b.getStringAttr("")))
    return String;
  if (accepts(DenseElementsAttr::get(RankedTensorType::get({1}, b.getF32Type()), 0.0f)))
    return Tensor;
  return std::nullopt;
}

} // namespace

LogicalResult mlir::ds::verifyRuntimeContract(MLIRContext *context, Location loc,
                                              RuntimeContractSummary &summary) {
  bool ok = true;
  auto mismatch = [&]() {
    ok = false;
    return mlir::emitError(loc, "runtime contract: ");
  };
  context->getOrLoadDialect<DSDialect>();
  llvm::StringSet<> dialectOps;
  for (RegisteredOperationName name : context->getRegisteredOperations()) {
    if (name.getDialectNamespace() != DSDialect::getDialectNamespace())
      continue;
    dialectOps.insert(name.getStringRef());
    if (!isNotAStep(name.getStringRef()) && !findOp(name.getStringRef()))
      mismatch() << name.getStringRef()
                 << " is an op of the ds dialect that ds_op_attributes.def does not list (the CPU "
                    "runtime would refuse it)";
  }
  summary = RuntimeContractSummary();
  for (const OpRow &row : contract()) {
    ++summary.ops;
    summary.attributes += row.attrs.size();
    std::optional<RegisteredOperationName> name =
        RegisteredOperationName::lookup(row.op, context);
    if (!name) {
      mismatch() << "ds_op_attributes.def lists " << row.op << ", which the ds dialect does not have";
      continue;
    }
    if (getOpClass(*name) != row.opClass)
      mismatch() << row.op << " has op class " << (int)getOpClass(*name)
                 << " (DS_OpClass in DSOps.td) but ds_op_attributes.def says " << (int)row.opClass;
    llvm::StringSet<> odsNames;
    for (StringAttr attrName : name->getAttributeNames()) {
      if (isSegmentSizes(attrName.getValue()))
        continue;
      odsNames.insert(attrName.getValue());
      const AttrRow *spec = nullptr;
      for (const AttrRow &a : row.attrs)
        if (a.name == attrName.getValue())
          spec = &a;
      if (!spec) {
        mismatch() << row.op << " has the attribute '" << attrName.getValue()
                   << "', which ds_op_attributes.def does not list (the runtime would refuse it)";
        continue;
      }
      bool unit = false;
      std::optional<Kind> kind = odsKind(*name, attrName, unit);
      if (!kind) {
        mismatch() << row.op << " attribute '" << attrName.getValue()
                   << "' has an ODS kind the artifact cannot store";
        continue;
      }
      if (*kind != spec->kind)
        mismatch() << row.op << " attribute '" << attrName.getValue() << "' is written as "
                   << stepAttributeTagName((dsx_attr_tag)*kind)
                   << ", ds_op_attributes.def says "
                   << stepAttributeTagName((dsx_attr_tag)spec->kind);
      if (unit && spec->required)
        mismatch() << row.op << " attribute '" << attrName.getValue()
                   << "' is a unit attribute (absent when false), ds_op_attributes.def requires it";
      if (unit && (spec->min > 1 || spec->max < 1))
        mismatch() << row.op << " attribute '" << attrName.getValue()
                   << "' is a unit attribute (written as 1), outside its range in "
                      "ds_op_attributes.def";
      if (const EnumAttr *e = findEnum(row.op, attrName.getValue())) {
        SmallVector<StringRef> allowed = splitAllowed(spec->allowed);
        for (const std::string &s : e->spellings)
          if (!llvm::is_contained(allowed, StringRef(s)))
            mismatch() << row.op << " attribute '" << attrName.getValue() << "' may be '" << s
                       << "', which ds_op_attributes.def does not allow";
        for (StringRef s : allowed)
          if (!llvm::is_contained(e->spellings, s.str()))
            mismatch() << row.op << " attribute '" << attrName.getValue()
                       << "': ds_op_attributes.def allows '" << s
                       << "', which is no spelling of the enum";
      }
    }
    for (const AttrRow &a : row.attrs)
      if (!odsNames.contains(a.name))
        mismatch() << row.op << " has no attribute '" << a.name
                   << "' that ds_op_attributes.def lists (renamed or removed in DSOps.td?)";
  }
  return success(ok);
}
