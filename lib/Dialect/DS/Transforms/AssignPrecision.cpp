//===- AssignPrecision.cpp - mixed precision by op class -----------------===//
//
// ds-assign-precision decides, op by op in block order, whether an op runs in
// the low type (fp16 / bf16) or in fp32, and rewrites types in place: a low
// op's f32 results become low, its f32 operands are replaced by their low
// version (a cast made once per value, a converted constant, or the source
// of a cast that already came from the low type), and an fp32 op gets the
// f32 version of any operand that became low. Every user of a value comes
// after it in the block (the terminator included), so one walk sees every
// op after all its producers and before all its users. Why each op ended
// where it did is recorded for the report. PrecisionPasses.td has the policy.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "EmulateFp8.h"
#include "PrecisionPolicy.h"
#include "ds/Calibration/PrecisionTable.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>

namespace mlir::ds {
#define GEN_PASS_DEF_ASSIGNPRECISIONPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

using Role = PrecisionRole;

Type withElement(Type t, Type element) {
  return cast<RankedTensorType>(t).clone(element);
}

struct Stats {
  unsigned low = 0, fp32 = 0, casts = 0, constants = 0;
  uint64_t constantElements = 0, clamped = 0;
};

class PrecisionAssigner {
public:
  PrecisionAssigner(func::FuncOp func, FloatType low, bool keepIO,
                    const llvm::DenseSet<unsigned> &blockedClasses,
                    const llvm::StringSet<> &blockedNodes)
      : func(func), low(low), keepIO(keepIO), blockedClasses(blockedClasses),
        blockedNodes(blockedNodes) {}

  /// policy=auto: each calibrated op's measurement from `table`, checked
  /// against `budget`. Fails on an op the table does not know.
  LogicalResult useMeasurements(const ds_calibration::PrecisionTable &table, double budget);
  LogicalResult run();
  void writeReport(llvm::raw_ostream &os) const;

private:
  struct Decision {
    Role role;
    std::string reason;
  };
  Decision decide(Operation *op);
  /// The low-typed version of f32 value `v` for a use by `user`.
  FailureOr<Value> lowVersion(Value v, Operation *user);
  /// The f32 version of a value that became low.
  Value f32Version(Value v);
  FailureOr<Value> convertConstant(ConstantOp constant);
  void convertSignature();
  std::string lowName() const;

  func::FuncOp func;
  FloatType low;
  bool keepIO;
  const llvm::DenseSet<unsigned> &blockedClasses;
  const llvm::StringSet<> &blockedNodes;
  /// policy=auto: what calibration measured of each op it may lower.
  llvm::DenseMap<Operation *, const ds_calibration::PrecisionEntry *> measured;
  double budget = 0.0;
  /// f32 value -> its low version, and low value -> its f32 version.
  llvm::DenseMap<Value, Value> toLow, toF32;
  /// Values whose type this pass changed to the low type, and f32 values
  /// that are casts of low ones (their low version is exact).
  llvm::DenseSet<Value> lowered, fromLow;
  llvm::SmallVector<CastOp> createdCasts;
  llvm::SmallVector<ConstantOp> replacedConstants;
  struct Line {
    Operation *op;
    std::string precision;
    std::string reason;
  };
  std::vector<Line> lines;
  Stats stats;
};

/// Why the block lists keep `op` in fp32 (null: they do not).
const char *blockedReason(Operation *op, const llvm::DenseSet<unsigned> &blockedClasses,
                          const llvm::StringSet<> &blockedNodes) {
  if (auto name = getNodeName(op->getLoc()); name && blockedNodes.contains(*name))
    return "blocked node";
  if (blockedClasses.contains(getOpClass(op)))
    return "blocked class";
  return nullptr;
}

/// A measurement as the report prints it.
std::string formatError(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

using Measurements = llvm::DenseMap<Operation *, const ds_calibration::PrecisionEntry *>;

/// policy=auto: the table's measurement of each op of `func` that has a key
/// (precisionKeys) and that `measures` selects. Fails on an op the table
/// does not know.
FailureOr<Measurements> lookUpMeasurements(func::FuncOp func,
                                           const ds_calibration::PrecisionTable &table,
                                           llvm::function_ref<bool(Operation *)> measures) {
  llvm::StringMap<const ds_calibration::PrecisionEntry *> byName;
  for (const ds_calibration::PrecisionEntry &entry : table.entries)
    byName[entry.name] = &entry;
  llvm::DenseMap<Operation *, std::string> keys = precisionKeys(func);
  Measurements measured;
  // The first op (in block order) the table does not know, and how many.
  Operation *firstMissing = nullptr;
  unsigned missing = 0;
  func.walk([&](Operation *op) {
    auto key = keys.find(op);
    if (key == keys.end() || !measures(op))
      return;
    if (auto it = byName.find(key->second); it != byName.end())
      measured[op] = it->second;
    else if (missing++ == 0)
      firstMissing = op;
  });
  if (!firstMissing)
    return measured;
  InFlightDiagnostic diag =
      firstMissing->emitError("ds-assign-precision: the precision table has no measurement of '")
      << keys[firstMissing] << "' (" << opNameWithKind(firstMissing) << ")";
  if (missing > 1)
    diag << " nor of " << missing - 1 << " later ops";
  diag << ": it was calibrated for another model or other compile flags";
  return failure();
}

/// policy=auto: why a measured op stays fp32 (empty: it may run in
/// `lowName`; `note` then gives its measured error).
std::string measuredReason(const ds_calibration::PrecisionEntry &entry, double budget,
                           StringRef lowName, std::string &note) {
  if (entry.overflows > 0)
    return ("overflows " + lowName + " in calibration (" + std::to_string(entry.overflows) +
            " results not finite)")
        .str();
  if (entry.relativeError > budget)
    return "calibrated error " + formatError(entry.relativeError) + " > budget " +
           formatError(budget);
  note = "calibrated error " + formatError(entry.relativeError);
  return "";
}

LogicalResult PrecisionAssigner::useMeasurements(const ds_calibration::PrecisionTable &table,
                                                 double errorBudget) {
  budget = errorBudget;
  FailureOr<Measurements> found = lookUpMeasurements(func, table, [](Operation *) { return true; });
  if (failed(found))
    return failure();
  measured = std::move(*found);
  return success();
}

PrecisionAssigner::Decision PrecisionAssigner::decide(Operation *op) {
  if (const char *blocked = blockedReason(op, blockedClasses, blockedNodes))
    return {Role::Fp32, blocked};
  PrecisionDecision byClass = defaultPrecisionRole(op);
  Decision decision{byClass.role, byClass.reason};
  auto it = measured.find(op);
  if (it == measured.end() || decision.role == Role::Fp32)
    return decision;
  std::string note;
  std::string why = measuredReason(*it->second, budget, lowName(), note);
  if (!why.empty())
    return {Role::Fp32, why};
  decision.reason += " (" + note + ")";
  return decision;
}

FailureOr<Value> PrecisionAssigner::convertConstant(ConstantOp constant) {
  FailureOr<ElementsAttr> attr = convertF32Constant(constant, low, stats.clamped);
  if (failed(attr))
    return constant.emitError("ds-assign-precision: cannot read the f32 values of this constant");
  OpBuilder b(constant);
  b.setInsertionPointAfter(constant);
  ++stats.constants;
  replacedConstants.push_back(constant);
  stats.constantElements += cast<RankedTensorType>(attr->getType()).getNumElements();
  return b.create<ConstantOp>(constant.getLoc(), *attr).getResult();
}

FailureOr<Value> PrecisionAssigner::lowVersion(Value v, Operation *user) {
  if (auto it = toLow.find(v); it != toLow.end())
    return it->second;
  Value result;
  if (auto constant = v.getDefiningOp<ConstantOp>()) {
    FailureOr<Value> converted = convertConstant(constant);
    if (failed(converted))
      return failure();
    result = *converted;
  } else {
    OpBuilder b(user);
    if (Operation *def = v.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
    auto cast = b.create<CastOp>(v.getLoc(), withElement(v.getType(), low), v, UnitAttr());
    createdCasts.push_back(cast);
    result = cast.getResult();
  }
  toLow[v] = result;
  toF32[result] = v;
  return result;
}

Value PrecisionAssigner::f32Version(Value v) {
  if (auto it = toF32.find(v); it != toF32.end())
    return it->second;
  OpBuilder b(func.getContext());
  if (Operation *def = v.getDefiningOp())
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
  auto cast = b.create<CastOp>(v.getLoc(), withElement(v.getType(), b.getF32Type()), v, UnitAttr());
  createdCasts.push_back(cast);
  toF32[v] = cast.getResult();
  toLow[cast.getResult()] = v;
  fromLow.insert(cast.getResult());
  return cast.getResult();
}

void PrecisionAssigner::convertSignature() {
  Block &entry = func.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  for (BlockArgument arg : entry.getArguments()) {
    if (!isF32Tensor(arg.getType()))
      continue;
    // The argument becomes low; its f32 users read a cast of it.
    Type f32Type = arg.getType();
    arg.setType(withElement(f32Type, low));
    auto cast = b.create<CastOp>(arg.getLoc(), f32Type, arg, UnitAttr());
    arg.replaceAllUsesExcept(cast.getResult(), cast);
    createdCasts.push_back(cast);
    toLow[cast.getResult()] = arg;
    toF32[arg] = cast.getResult();
    fromLow.insert(cast.getResult());
    lowered.insert(arg);
  }
}

LogicalResult PrecisionAssigner::run() {
  if (!keepIO)
    convertSignature();
  Block &entry = func.getBody().front();
  llvm::DenseSet<Operation *> made;
  for (CastOp cast : createdCasts)
    made.insert(cast);
  for (Operation &opRef : llvm::make_early_inc_range(entry)) {
    Operation *op = &opRef;
    if (isa<ConstantOp>(op) || made.contains(op))
      continue;
    if (op->hasTrait<OpTrait::IsTerminator>()) {
      // Results leave in f32 unless the signature takes the low type.
      bool lowResults = !keepIO && isa<func::ReturnOp>(op);
      for (OpOperand &use : op->getOpOperands()) {
        Value v = use.get();
        if (!lowResults) {
          if (lowered.contains(v))
            use.set(f32Version(v));
        } else if (!lowered.contains(v) && isF32Tensor(v.getType())) {
          FailureOr<Value> l = lowVersion(v, op);
          if (failed(l))
            return failure();
          use.set(*l);
        }
      }
      continue;
    }
    Decision decision = decide(op);
    // Float operands: lowered ones, f32 ones with an exact low version (a
    // cast of a low value) or a constant, other f32 ones, and other floats
    // (f64, or a low type the model chose itself).
    bool anyFloat = false, anyLow = false, allLowOrConstant = true, otherFloat = false;
    for (Value v : op->getOperands()) {
      bool isConstant = v.getDefiningOp<ConstantOp>() != nullptr;
      if (lowered.contains(v) || fromLow.contains(v)) {
        anyFloat = anyLow = true;
      } else if (isF32Tensor(v.getType())) {
        anyFloat = true;
        allLowOrConstant &= isConstant;
      } else if (auto t = dyn_cast<RankedTensorType>(v.getType());
                 t && isa<FloatType>(t.getElementType())) {
        otherFloat = true;
      }
    }
    bool toLowType = false;
    std::string reason = decision.reason;
    switch (decision.role) {
    case Role::Low:
      toLowType = anyFloat && !otherFloat;
      break;
    case Role::Follow:
      toLowType = anyLow && allLowOrConstant && !otherFloat;
      if (!toLowType && anyFloat)
        reason = anyLow ? "an input stays fp32" : "its inputs are fp32";
      break;
    case Role::Fp32:
      reason += ", stays fp32";
      break;
    }
    if (toLowType) {
      for (OpOperand &use : op->getOpOperands()) {
        Value v = use.get();
        if (lowered.contains(v) || !isF32Tensor(v.getType()))
          continue;
        FailureOr<Value> l = lowVersion(v, op);
        if (failed(l))
          return failure();
        use.set(*l);
      }
      for (Value r : op->getResults())
        if (isF32Tensor(r.getType())) {
          r.setType(withElement(r.getType(), low));
          lowered.insert(r);
        }
      ++stats.low;
      lines.push_back({op, lowName(), reason});
      continue;
    }
    for (OpOperand &use : op->getOpOperands())
      if (lowered.contains(use.get()))
        use.set(f32Version(use.get()));
    if (anyFloat || llvm::any_of(op->getResultTypes(), isF32Tensor)) {
      ++stats.fp32;
      lines.push_back({op, "f32", reason});
    }
  }
  if (!keepIO)
    func.setType(FunctionType::get(func.getContext(), entry.getArgumentTypes(),
                                   entry.getTerminator()->getOperandTypes()));
  // Constants now read only in their converted form go.
  for (ConstantOp constant : replacedConstants)
    if (constant->use_empty())
      constant.erase();
  // A cast made for one use and then not needed (all its users took another
  // version) goes again.
  for (CastOp cast : createdCasts) {
    if (cast->use_empty())
      cast.erase();
    else
      ++stats.casts;
  }
  return success();
}

std::string PrecisionAssigner::lowName() const { return low.isBF16() ? "bf16" : "f16"; }

void PrecisionAssigner::writeReport(llvm::raw_ostream &os) const {
  for (const Line &line : lines)
    os << getNodeName(line.op->getLoc()).value_or("-") << " " << opNameWithKind(line.op) << " "
       << line.precision << " " << line.reason << "\n";
  os << "precision " << lowName() << " in @" << const_cast<func::FuncOp &>(func).getSymName() << ": " << stats.low << " ops in "
     << lowName() << ", " << stats.fp32 << " in f32; " << stats.casts << " casts; "
     << stats.constants << " constants converted (" << stats.constantElements << " elements, "
     << stats.clamped << " clamped)\n";
}

struct AssignPrecisionPass : ds::impl::AssignPrecisionPassBase<AssignPrecisionPass> {
  using AssignPrecisionPassBase::AssignPrecisionPassBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (policy != "fp32" && policy != "fp16" && policy != "bf16" && policy != "fp8" &&
        policy != "auto")
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: unknown policy '" << policy
             << "' (expected fp32, fp16, bf16, fp8 or auto)";
    if (policy == "auto" && failed(readTable(ctx)))
      return failure();
    if (policy != "auto" && !table.empty())
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: a precision table is read by policy=auto only";
    for (const std::string &name : blockClasses) {
      std::optional<dsx_op_class> cls = parseOpClass(name);
      if (!cls || *cls == DSX_OP_OTHER)
        return emitError(UnknownLoc::get(ctx))
               << "ds-assign-precision: unknown op class '" << name
               << "' in block-classes (expected elementwise, reduction, window, contraction, "
                  "attention, data_movement, shape, generator or precision)";
      classes.insert(*cls);
    }
    for (const std::string &name : blockNodes)
      nodes.insert(name);
    return success();
  }

  void runOnOperation() override {
    if (policy == "fp32")
      return; // the identity
    Builder b(&getContext());
    bool measuredPolicy = policy == "auto";
    std::string lowPolicy = measuredPolicy ? measurements.type : policy.getValue();
    FloatType low = lowPolicy == "bf16" ? b.getBF16Type() : b.getF16Type();
    double budget = errorBudget > 0.0 ? errorBudget.getValue()
                                      : ds_calibration::defaultPrecisionBudget(lowPolicy);
    std::string text;
    llvm::raw_string_ostream reportStream(text);
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (lowPolicy == "fp8") {
        if (failed(
                assignFp8(func, measuredPolicy, budget, report.empty() ? nullptr : &reportStream)))
          return signalPassFailure();
        continue;
      }
      if (!func.getBody().hasOneBlock()) {
        func.emitError("ds-assign-precision: expected a function with one block");
        return signalPassFailure();
      }
      PrecisionAssigner assigner(func, low, keepIOTypes, classes, nodes);
      if (measuredPolicy && failed(assigner.useMeasurements(measurements, budget)))
        return signalPassFailure();
      if (failed(assigner.run()))
        return signalPassFailure();
      assigner.writeReport(reportStream);
    }
    if (report.empty())
      return;
    if (report == "-") {
      llvm::outs() << text;
      return;
    }
    std::error_code ec;
    llvm::raw_fd_ostream os(report, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      getOperation().emitError("ds-assign-precision: cannot write the report to '")
          << report.getValue() << "': " << ec.message();
      return signalPassFailure();
    }
    os << text;
  }

  /// policy=fp8, or auto on an fp8 table: contractions and attention
  /// emulated in fp8 except those blocked or, with measurements, over the
  /// budget.
  LogicalResult assignFp8(func::FuncOp func, bool measuredPolicy, double budget,
                          llvm::raw_ostream *report) {
    Measurements measured;
    if (measuredPolicy) {
      FailureOr<Measurements> found = lookUpMeasurements(func, measurements, isFp8Candidate);
      if (failed(found))
        return failure();
      measured = std::move(*found);
    }
    emulateFp8(
        func,
        [&](Operation *op, std::string &note) -> std::string {
          if (const char *blocked = blockedReason(op, classes, nodes))
            return blocked;
          if (!measuredPolicy)
            return "";
          auto it = measured.find(op);
          if (it == measured.end()) { // no key: calibration cannot name it
            note = "not calibrated";
            return "";
          }
          return measuredReason(*it->second, budget, "fp8", note);
        },
        report);
    return success();
  }

  LogicalResult readTable(MLIRContext *ctx) {
    if (table.empty())
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: policy=auto needs a precision table (table=..., written "
                "by ds-calibrate --precision=fp16|bf16|fp8)";
    if (errorBudget < 0.0)
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: error-budget must be at least 0 (0: the low type's default)";
    auto file = llvm::MemoryBuffer::getFile(table, /*IsText=*/true);
    if (!file)
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: cannot read the precision table '" << table
             << "': " << file.getError().message();
    std::string error;
    if (!ds_calibration::parsePrecisionTable((*file)->getBuffer().str(), measurements, error))
      return emitError(UnknownLoc::get(ctx))
             << "ds-assign-precision: " << table << ": " << error;
    return success();
  }

  llvm::DenseSet<unsigned> classes;
  llvm::StringSet<> nodes;
  ds_calibration::PrecisionTable measurements;
};

} // namespace
