//===- ArtifactWriter.cpp - ds module to a runtime artifact (.dsx) --------===//
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "core/ArenaPlan.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.h"
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Support/OutputFile.h"
#include "ds/Target/Artifact/RuntimeContract.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "ds-artifact"

using namespace mlir;
using namespace mlir::ds;

namespace {
std::optional<ds_dtype> toDType(Type t) {
  if (t.isF32()) return DS_F32;
  if (t.isF64()) return DS_F64;
  if (t.isF16()) return DS_F16;
  if (t.isBF16()) return DS_BF16;
  if (t.isFloat8E4M3FN()) return DS_F8E4M3FN;
  if (t.isFloat8E5M2()) return DS_F8E5M2;
  if (t.isFloat8E4M3FNUZ()) return DS_F8E4M3FNUZ;
  if (t.isFloat8E5M2FNUZ()) return DS_F8E5M2FNUZ;
  if (t.isInteger(1)) return DS_BOOL;
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 64: return u ? DS_U64 : DS_I64;
    case 32: return u ? DS_U32 : DS_I32;
    case 16: return u ? DS_U16 : DS_I16;
    case 8: return u ? DS_U8 : DS_I8;
    case 4: return u ? DS_U4 : DS_I4;
    case 2: return u ? DS_U2 : DS_I2;
    default: return std::nullopt;
    }
  }
  return std::nullopt;
}

/// Little-endian byte stream of the metadata section.
class ByteWriter {
public:
  void u8(uint8_t v) { bytes.push_back((char)v); }
  void u16(uint16_t v) { raw(&v, 2); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f64(double v) { raw(&v, 8); }
  void str(StringRef s) {
    u32((uint32_t)s.size());
    bytes.append(s.begin(), s.end());
  }
  std::string bytes;

private:
  void raw(const void *p, size_t n) { bytes.append((const char *)p, n); }
};

/// Streams the bytes of a constant as the runtime stores them to `emit`, a
/// piece at a time: one byte per element for i1 and sub-byte integers (signed
/// ones sign-extended, as the runtime reads them as int8), and a splat
/// repeated without ever being expanded in memory. Weights held in resource
/// blobs go out without a copy.
void streamConstant(ElementsAttr attr, function_ref<void(ArrayRef<char>)> emit) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      emit(blob->getData());
    return;
  }
  auto dense = cast<DenseElementsAttr>(attr);
  Type element = dense.getElementType();
  int64_t n = dense.getNumElements();
  constexpr size_t kChunk = 1 << 20;
  std::string chunk;
  auto push = [&](char c) {
    chunk.push_back(c);
    if (chunk.size() == kChunk) {
      emit(ArrayRef<char>(chunk.data(), chunk.size()));
      chunk.clear();
    }
  };
  auto flush = [&] {
    if (!chunk.empty())
      emit(ArrayRef<char>(chunk.data(), chunk.size()));
  };
  bool isBool = element.isInteger(1); // bits in the attribute, bytes in the file
  if (isBool && !dense.isSplat()) {
    for (bool b : dense.getValues<bool>())
      push(b ? 1 : 0);
    return flush();
  }
  ArrayRef<char> raw = dense.getRawData();
  unsigned bits = element.getIntOrFloatBitWidth();
  // MLIR keeps an i4 / i2 in a byte with its bits zero-extended.
  bool signExtend = isa<IntegerType>(element) && bits > 1 && bits < 8 &&
                    !element.isUnsignedInteger();
  auto stored = [&](char c) -> char {
    return signExtend ? (char)((int8_t)((uint8_t)c << (8 - bits)) >> (8 - bits)) : c;
  };
  if (!dense.isSplat()) {
    if (!signExtend)
      return emit(raw);
    for (char c : raw)
      push(stored(c));
    return flush();
  }
  std::string one = isBool ? std::string(1, dense.getSplatValue<bool>() ? 1 : 0)
                           : std::string(raw.begin(), raw.end());
  for (char &c : one)
    c = stored(c);
  // Whole elements per piece, so the last (shorter) piece ends on one too.
  uint64_t left = (uint64_t)n * one.size();
  for (size_t i = 0; i < kChunk / one.size() && chunk.size() < left; ++i)
    chunk += one;
  while (left) {
    size_t size = (size_t)std::min<uint64_t>(left, chunk.size());
    emit(ArrayRef<char>(chunk.data(), size));
    left -= size;
  }
}

/// A constant's bytes in memory (tensor attributes, which are small).
std::string constantBytes(ElementsAttr attr) {
  std::string out;
  streamConstant(attr, [&](ArrayRef<char> piece) { out.append(piece.begin(), piece.end()); });
  return out;
}

/// streamConstant for a record: with `bits`, the one-byte codes packed
/// 8 / bits to a byte, low bits first, as the runtime unpacks them.
void streamStoredConstant(ElementsAttr attr, unsigned bits,
                          function_ref<void(ArrayRef<char>)> emit) {
  if (!bits)
    return streamConstant(attr, emit);
  const unsigned perByte = 8 / bits, mask = (1u << bits) - 1;
  std::string packed;
  uint8_t current = 0;
  unsigned filled = 0;
  streamConstant(attr, [&](ArrayRef<char> piece) {
    for (char code : piece) {
      current |= (uint8_t)(((uint8_t)code & mask) << (filled * bits));
      if (++filled == perByte) {
        packed.push_back((char)current);
        current = 0, filled = 0;
      }
    }
    if (packed.size() >= (1u << 20)) {
      emit(ArrayRef<char>(packed.data(), packed.size()));
      packed.clear();
    }
  });
  if (filled)
    packed.push_back((char)current);
  if (!packed.empty())
    emit(ArrayRef<char>(packed.data(), packed.size()));
}

/// A step as written: an op of @main (cpu) or a target step.
struct StepRecord {
  std::string name;
  SmallVector<Value> inputs; // null: absent optional operand
  SmallVector<Value> outputs;
  SmallVector<NamedAttribute> attrs;
  Operation *op = nullptr; // for enum spellings and diagnostics (cpu)
};

struct ValueRecord {
  ds_dtype dtype;
  dsx_storage storage;
  SmallVector<int64_t> dims;
  uint64_t offset = 0, bytes = 0;
  uint16_t flags = 0; // dsx_value_flag
  std::string name;
  int64_t firstUse = 0, lastUse = 0; // step indices, for the arena plan
  int64_t aliasOf = -1;               // record whose bytes this one shares
};

/// A dynamic dim of the inputs: the sizes a run may bind.
struct DimSymbol {
  std::string name;
  int64_t min = 0, max = -1;
};

/// Replaces each dynamic dim of input `arg`'s record by -(k+1) for its symbol
/// k (inputDimSymbols); bounds (`ds.dim_bounds`) of a shared symbol intersect.
LogicalResult assignDimSymbols(func::FuncOp func, BlockArgument arg, ValueRecord &record,
                               ArrayRef<int64_t> symbolOfDim, std::vector<DimSymbol> &symbols) {
  unsigned index = arg.getArgNumber();
  auto names = func.getArgAttrOfType<ArrayAttr>(index, "ds.dim_symbols");
  auto bounds = func.getArgAttrOfType<DenseI64ArrayAttr>(index, "ds.dim_bounds");
  size_t rank = record.dims.size();
  if ((names && names.size() != rank) || (bounds && bounds.size() != (int64_t)(2 * rank)))
    return func.emitError("artifact writer: ds.dim_symbols / ds.dim_bounds of input '")
           << record.name << "' do not match its rank " << rank;
  for (size_t d = 0; d < rank; ++d) {
    if (record.dims[d] >= 0)
      continue;
    StringRef name;
    if (names)
      if (auto s = dyn_cast<StringAttr>(names[d]))
        name = s.getValue();
    int64_t lo = bounds ? bounds[2 * d] : -1, hi = bounds ? bounds[2 * d + 1] : -1;
    size_t k = (size_t)symbolOfDim[d];
    if (k == symbols.size())
      symbols.push_back({name.empty() ? record.name + ":" + std::to_string(d) : name.str(), 0, -1});
    DimSymbol &symbol = symbols[k];
    if (lo >= 0)
      symbol.min = std::max(symbol.min, lo);
    if (hi >= 0)
      symbol.max = symbol.max < 0 ? hi : std::min(symbol.max, hi);
    if (symbol.max >= 0 && symbol.min > symbol.max)
      return func.emitError("artifact writer: the bounds of dim '")
             << symbol.name << "' leave no size (" << symbol.min << ".." << symbol.max << ")";
    record.dims[d] = -(int64_t)k - 1;
  }
  return success();
}

/// @main as the writer sees it: the value table, the constants with their
/// bytes, the dim symbols and the step list.
struct Program {
  func::FuncOp func;
  Block *body = nullptr;
  func::ReturnOp returnOp;
  llvm::DenseMap<Value, uint32_t> ids;
  std::vector<ValueRecord> records;
  SmallVector<std::pair<uint32_t, ElementsAttr>> constants;
  std::vector<DimSymbol> symbols;
  std::vector<StepRecord> steps;
  /// The fusion groups of a cpu program, each a run of steps (format 4).
  struct Group {
    uint32_t firstStep = 0, numSteps = 0;
    uint32_t headSteps = 0, parallelDims = 0; // getGroupTiling
  };
  std::vector<Group> groups;
};

/// Where things go: the arena plan and the constants section.
struct Layout {
  uint64_t arenaBytes = 0, intermediateBytes = 0;
  uint64_t constantSize = 0;          // the constants section, images included
  std::vector<uint64_t> imageOffsets; // of the payload's images, in that section
};

/// Appends the record of `v` (dtype, dims, static bytes) to the value table.
LogicalResult addValue(Program &program, Value v, dsx_storage storage, std::string name,
                       const TargetPayload *payload) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return emitError(v.getLoc(), "artifact writer: value of type ")
           << v.getType() << " is not a ranked tensor";
  auto dtype = toDType(type.getElementType());
  if (!dtype)
    return emitError(v.getLoc(), "artifact writer: unsupported element type ")
           << type.getElementType();
  ValueRecord r;
  r.dtype = *dtype;
  r.storage = storage;
  r.dims.assign(type.getShape().begin(), type.getShape().end());
  // Dynamic values are sized and placed by the runtime, per input shape.
  r.bytes = type.hasStaticShape()
                ? (uint64_t)type.getNumElements() * *storageBytesPerElement(type.getElementType())
                : 0;
  for (int64_t &d : r.dims)
    if (ShapedType::isDynamic(d))
      d = -1;
  r.name = std::move(name);
  program.ids[v] = (uint32_t)program.records.size();
  program.records.push_back(std::move(r));
  return success();
}

/// The value table in program order: inputs (with their dim symbols and
/// defaults), then the constants and the results of every other op of @main.
LogicalResult collectValues(ModuleOp module, const TargetPayload *payload, Program &program) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func)
    return module.emitError("artifact writer: no func.func @main");
  if (!func.getBody().hasOneBlock())
    return func.emitError("artifact writer: @main must have one block");
  program.func = func;
  program.body = &func.getBody().front();
  program.returnOp = cast<func::ReturnOp>(program.body->getTerminator());

  std::vector<std::vector<int64_t>> symbolOfDim = inputDimSymbols(func);
  for (BlockArgument arg : program.body->getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "ds.name");
    if (failed(addValue(program, arg, DSX_STORAGE_INPUT,
                        name ? name.str() : "input" + std::to_string(arg.getArgNumber()),
                        payload)) ||
        failed(assignDimSymbols(func, arg, program.records.back(),
                                symbolOfDim[arg.getArgNumber()], program.symbols)))
      return failure();
    if (func.getArgAttr(arg.getArgNumber(), "ds.unknown_rank"))
      program.records.back().flags |= DSX_VALUE_ANY_RANK;
    if (auto value = func.getArgAttrOfType<ElementsAttr>(arg.getArgNumber(), "ds.default")) {
      if (value.getType() != arg.getType())
        return func.emitError("artifact writer: the default of input '")
               << program.records.back().name << "' has type " << value.getType() << ", not "
               << arg.getType();
      program.records.back().flags |= DSX_VALUE_HAS_DEFAULT;
      program.constants.push_back({program.ids[arg], value});
    }
  }

  // Constants and op results. In a cpu program each fusion group's body is
  // written in its place: a body argument is the group's input, a group
  // result the yielded value. With a target payload the ops (fusion groups)
  // only define the values; the payload's steps compute them.
  auto addOp = [&](Operation &op) -> LogicalResult {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (failed(addValue(program, constant.getResult(), DSX_STORAGE_CONSTANT, "", payload)))
        return failure();
      // Sub-byte codes packed in the file (the cpu runtime unpacks them, or
      // packs int4 matmul weights its own way straight from them).
      ValueRecord &record = program.records.back();
      auto type = cast<RankedTensorType>(constant.getResult().getType());
      if (unsigned bits = dsx_packed_code_bits(record.dtype);
          bits && !payload && type.hasStaticShape()) {
        const uint64_t perByte = 8 / bits;
        record.flags |= DSX_VALUE_PACKED_CODES;
        record.bytes = ((uint64_t)type.getNumElements() + perByte - 1) / perByte;
      }
      program.constants.push_back({program.ids[constant.getResult()], constant.getValue()});
      return success();
    }
    if (op.getDialect() != op.getContext()->getLoadedDialect<DSDialect>() ||
        (!payload && op.getNumRegions() != 0))
      return op.emitError("artifact writer: only ds ops can be written, not ") << op.getName();
    for (Value result : op.getResults())
      if (failed(addValue(program, result, DSX_STORAGE_ARENA, "", payload)))
        return failure();
    return success();
  };
  for (Operation &op : program.body->without_terminator()) {
    auto group = dyn_cast<FusionGroupOp>(op);
    if (!group || payload) {
      if (failed(addOp(op)))
        return failure();
      continue;
    }
    Block &body = group.getBody().front();
    for (auto [argument, input] : llvm::zip(body.getArguments(), group.getInputs()))
      program.ids[argument] = program.ids.lookup(input);
    for (Operation &inner : body.without_terminator())
      if (failed(addOp(inner)))
        return failure();
    for (auto [result, yielded] : llvm::zip(group.getResults(), body.getTerminator()->getOperands()))
      program.ids[result] = program.ids.lookup(yielded);
  }
  return success();
}

/// The step list: one step per non-constant op of @main (cpu), or the
/// payload's steps, which may only name values of @main.
LogicalResult collectSteps(ModuleOp module, const TargetPayload *payload, Program &program) {
  if (payload) {
    for (const ArtifactStep &s : payload->steps) {
      StepRecord step{s.name, s.inputs, s.outputs, s.attrs, nullptr};
      for (Value v : llvm::concat<const Value>(step.inputs, step.outputs))
        if (v && !program.ids.count(v))
          return module.emitError("artifact writer: step '")
                 << s.name << "' refers to a value that is not in @main";
      program.steps.push_back(std::move(step));
    }
    return success();
  }
  auto addStep = [&](Operation &op) -> LogicalResult {
    if (isa<ConstantOp>(op))
      return success();
    // Only what the runtime reads (include/ds-runtime/ds_op_attributes.def).
    if (failed(verifyRuntimeContract(&op)))
      return failure();
    StepRecord step;
    step.name = op.getName().getStringRef().str();
    step.op = &op;
    // Expand optional operand groups so that every ODS slot is present.
    if (auto segments = op.getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes")) {
      unsigned next = 0;
      for (int32_t size : segments.asArrayRef()) {
        if (size == 0)
          step.inputs.push_back(Value());
        for (int32_t k = 0; k < size; ++k)
          step.inputs.push_back(op.getOperand(next++));
      }
    } else {
      step.inputs.assign(op.operand_begin(), op.operand_end());
    }
    step.outputs.assign(op.result_begin(), op.result_end());
    for (NamedAttribute attr : op.getAttrDictionary())
      if (attr.getName() != "operandSegmentSizes")
        step.attrs.push_back(attr);
    program.steps.push_back(std::move(step));
    return success();
  };
  // A fusion group's ops are consecutive steps; the runtime reads the group
  // table to run them together.
  for (Operation &op : program.body->without_terminator()) {
    auto group = dyn_cast<FusionGroupOp>(op);
    if (!group) {
      if (failed(addStep(op)))
        return failure();
      continue;
    }
    Program::Group record;
    record.firstStep = (uint32_t)program.steps.size();
    for (Operation &inner : group.getBody().front().without_terminator())
      if (failed(addStep(inner)))
        return failure();
    record.numSteps = (uint32_t)program.steps.size() - record.firstStep;
    GroupTiling tiling = getGroupTiling(group);
    record.headSteps = tiling.headOps;
    record.parallelDims = (uint32_t)tiling.parallelDims;
    if (record.numSteps)
      program.groups.push_back(record);
  }
  return success();
}

/// The record whose bytes `id` shares (itself unless it is an alias).
uint32_t aliasRoot(const std::vector<ValueRecord> &records, uint32_t id) {
  while (records[id].aliasOf >= 0)
    id = (uint32_t)records[id].aliasOf;
  return id;
}

/// A cuda.alias output shares the bytes of its input's root, which then has
/// to live as long as every alias.
LogicalResult markAliases(ModuleOp module, Program &program) {
  std::vector<ValueRecord> &records = program.records;
  for (const StepRecord &step : program.steps) {
    if (step.name != "cuda.alias")
      continue;
    if (step.inputs.size() != 1 || step.outputs.size() != 1 || !step.inputs[0])
      return module.emitError("artifact writer: cuda.alias needs one input and one output");
    uint32_t in = program.ids[step.inputs[0]], out = program.ids[step.outputs[0]];
    if (records[aliasRoot(records, in)].storage == DSX_STORAGE_INPUT ||
        records[in].bytes != records[out].bytes)
      return module.emitError("artifact writer: cuda.alias of a graph input or of another size");
    records[out].aliasOf = in;
  }
  return success();
}

/// The arena plan of a cpu program: the MemoryAnalysis of @main, whose steps
/// are the writer's steps (one per non-constant op).
void planFromAnalysis(Program &program, Layout &layout) {
  MemoryAnalysis memory(program.func);
  assert(memory.isValid() && memory.numSteps() == (int64_t)program.steps.size() &&
         "the analysis and the writer count the steps of @main alike");
  // A program with dynamic values is planned by the runtime, per input shape.
  if (!memory.isPlanned())
    return;
  for (const MemoryAnalysis::Buffer &buffer : memory.getBuffers())
    program.records[program.ids[buffer.value]].offset = buffer.offset;
  layout.arenaBytes = memory.getArenaBytes();
  layout.intermediateBytes = memory.getIntermediateBytes();
}

/// The arena plan of a target program, whose steps are the payload's: each
/// value lives from its defining step to its last reading step (an alias's
/// uses extend its root's lifetime; graph outputs live to the end), then the
/// same planner places them.
void planFromPayloadSteps(Program &program, Layout &layout) {
  std::vector<ValueRecord> &records = program.records;
  // A program with dynamic values is planned by the runtime, per input shape.
  for (const ValueRecord &r : records)
    if (llvm::any_of(r.dims, [](int64_t d) { return d < 0; }))
      return;
  int64_t end = (int64_t)program.steps.size();
  auto use = [&](uint32_t id, int64_t index) {
    ValueRecord &r = records[aliasRoot(records, id)];
    r.lastUse = std::max(r.lastUse, index);
  };
  for (auto [index, step] : llvm::enumerate(program.steps)) {
    for (Value result : step.outputs) {
      ValueRecord &r = records[program.ids[result]];
      if (r.aliasOf < 0)
        r.firstUse = r.lastUse = (int64_t)index;
      else
        use(program.ids[result], (int64_t)index);
    }
    for (Value operand : step.inputs)
      if (operand)
        use(program.ids[operand], (int64_t)index);
  }
  for (Value v : program.returnOp.getOperands())
    use(program.ids[v], end);

  // Target programs have static shapes (addValue checks), so there is always
  // one plan.
  std::vector<dsrt::BufferLifetime> lifetimes;
  std::vector<uint32_t> arenaIds;
  for (auto [id, r] : llvm::enumerate(records)) {
    if (r.storage != DSX_STORAGE_ARENA || r.aliasOf >= 0)
      continue;
    lifetimes.push_back({r.firstUse, r.lastUse, r.bytes});
    arenaIds.push_back((uint32_t)id);
    layout.intermediateBytes += r.bytes;
  }
  std::vector<uint64_t> offsets =
      dsrt::planArena(lifetimes, DSX_CONSTANT_ALIGNMENT, layout.arenaBytes);
  for (auto [i, id] : llvm::enumerate(arenaIds))
    records[id].offset = offsets[i];
}

/// Offsets of the constants, then of the payload's code images, in the
/// constants section (each aligned); aliases take their root's place.
void layoutConstants(Program &program, const TargetPayload *payload, Layout &layout) {
  std::vector<ValueRecord> &records = program.records;
  auto alignUp = [](uint64_t v) {
    return (v + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT * DSX_CONSTANT_ALIGNMENT;
  };
  for (auto &[id, attr] : program.constants) {
    records[id].offset = layout.constantSize;
    layout.constantSize += alignUp(records[id].bytes);
  }
  for (ValueRecord &r : records)
    if (r.aliasOf >= 0) {
      const ValueRecord &root = records[aliasRoot(records, (uint32_t)r.aliasOf)];
      r.storage = root.storage;
      r.offset = root.offset;
    }
  if (payload)
    for (const ArtifactImage &image : payload->images) {
      layout.imageOffsets.push_back(layout.constantSize);
      layout.constantSize += alignUp(image.bytes.size());
    }
}

/// One step attribute: enums by their spelling (RuntimeContract.cpp), then
/// ints, floats, i64 arrays, strings and small tensors.
LogicalResult writeAttribute(ByteWriter &meta, Operation *op, ModuleOp module,
                             NamedAttribute attr) {
  auto fail = [&]() { return op ? op->emitError() : module.emitError(); };
  StringRef name = attr.getName().getValue();
  meta.str(name);
  Attribute value = attr.getValue();
  std::optional<std::string> spelled = op ? enumSpelling(op, name) : std::nullopt;
  if (spelled) {
    meta.u8(DSX_ATTR_STRING);
    meta.str(*spelled);
  } else if (auto b = dyn_cast<BoolAttr>(value)) {
    meta.u8(DSX_ATTR_INT);
    meta.i64(b.getValue());
  } else if (auto i = dyn_cast<IntegerAttr>(value)) {
    meta.u8(DSX_ATTR_INT);
    meta.i64(i.getValue().getSExtValue());
  } else if (auto f = dyn_cast<FloatAttr>(value)) {
    meta.u8(DSX_ATTR_FLOAT);
    meta.f64(f.getValueAsDouble());
  } else if (isa<UnitAttr>(value)) {
    meta.u8(DSX_ATTR_INT);
    meta.i64(1);
  } else if (auto ints = dyn_cast<DenseI64ArrayAttr>(value)) {
    meta.u8(DSX_ATTR_INTS);
    meta.u32((uint32_t)ints.size());
    for (int64_t v : ints.asArrayRef())
      meta.i64(v);
  } else if (auto s = dyn_cast<StringAttr>(value)) {
    meta.u8(DSX_ATTR_STRING);
    meta.str(s.getValue());
  } else if (auto elements = dyn_cast<ElementsAttr>(value)) {
    auto dtype = toDType(elements.getElementType());
    if (!dtype)
      return fail() << "artifact writer: unsupported tensor attribute " << name;
    meta.u8(DSX_ATTR_TENSOR);
    meta.u8((uint8_t)*dtype);
    meta.str(constantBytes(elements));
  } else {
    return fail() << "artifact writer: cannot serialize attribute '" << name << "'";
  }
  return success();
}

/// The metadata section: value table, arena size, I/O, steps, target and
/// images (format version 2), dim symbols and op classes (3), fusion groups (4).
LogicalResult writeMetadata(ModuleOp module, const Program &program, const TargetPayload *payload,
                            const Layout &layout, ByteWriter &meta) {
  const llvm::DenseMap<Value, uint32_t> &ids = program.ids;
  meta.u32((uint32_t)program.records.size());
  for (const ValueRecord &r : program.records) {
    meta.u8((uint8_t)r.dtype);
    meta.u8((uint8_t)r.storage);
    meta.u16(r.flags);
    meta.u32((uint32_t)r.dims.size());
    for (int64_t d : r.dims)
      meta.i64(d);
    meta.u64(r.offset);
    meta.u64(r.bytes);
    meta.str(r.name);
  }
  meta.u64(layout.arenaBytes);
  meta.u32(program.body->getNumArguments());
  for (BlockArgument arg : program.body->getArguments())
    meta.u32(ids.lookup(arg));
  func::ReturnOp returnOp = program.returnOp;
  meta.u32(returnOp.getNumOperands());
  for (Value v : returnOp.getOperands())
    meta.u32(ids.lookup(v));
  // Output names ride on a second list so an output may alias an input.
  func::FuncOp func = program.func;
  for (unsigned i = 0; i < returnOp.getNumOperands(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "ds.name");
    meta.str(name ? name.str() : "output" + std::to_string(i));
  }
  meta.u32((uint32_t)program.steps.size());
  for (const StepRecord &step : program.steps) {
    meta.str(step.name);
    meta.u32((uint32_t)step.inputs.size());
    for (Value v : step.inputs)
      meta.u32(v ? ids.lookup(v) : DSX_ABSENT);
    meta.u32((uint32_t)step.outputs.size());
    for (Value v : step.outputs)
      meta.u32(ids.lookup(v));
    meta.u32((uint32_t)step.attrs.size());
    for (NamedAttribute attr : step.attrs)
      if (failed(writeAttribute(meta, step.op, module, attr)))
        return failure();
  }
  // Format version 2: the target and its code images.
  meta.u32(payload ? payload->target : 0);
  meta.u32(payload ? (uint32_t)payload->images.size() : 0);
  if (payload)
    for (auto [image, offset] : llvm::zip(payload->images, layout.imageOffsets)) {
      meta.str(image.arch);
      meta.u64(offset);
      meta.u64(image.bytes.size());
    }
  // Format version 3: the dim symbols, then each step's op class (the
  // DS_OpClass trait; target steps such as cuda.launch have none).
  meta.u32((uint32_t)program.symbols.size());
  for (const DimSymbol &symbol : program.symbols) {
    meta.str(symbol.name);
    meta.i64(symbol.min);
    meta.i64(symbol.max);
  }
  meta.u32((uint32_t)program.steps.size());
  for (const StepRecord &step : program.steps)
    meta.u8((uint8_t)(step.op ? getOpClass(step.op) : DSX_OP_OTHER));
  // Format version 4: the fusion groups of a cpu program.
  meta.u32((uint32_t)program.groups.size());
  for (const Program::Group &group : program.groups) {
    meta.u32(group.firstStep);
    meta.u32(group.numSteps);
    meta.u32(group.headSteps);
    meta.u32(group.parallelDims);
  }
  return success();
}

/// The file: header (checksum patched last), metadata, then the constants
/// section streamed piece by piece, written to a temporary file renamed into
/// place (a failure leaves `path` as it was). Refuses files over
/// `maxFileBytes` before writing anything.
LogicalResult writeFile(ModuleOp module, StringRef path, const Program &program,
                        const TargetPayload *payload, const Layout &layout, const ByteWriter &meta,
                        uint64_t maxFileBytes, uint64_t &fileSize) {
  const std::vector<ValueRecord> &records = program.records;
  auto alignUp = [](uint64_t v) {
    return (v + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT * DSX_CONSTANT_ALIGNMENT;
  };
  uint64_t constantSize = layout.constantSize;
  uint64_t metaOffset = DSX_HEADER_SIZE;
  uint64_t constOffset = alignUp(metaOffset + meta.bytes.size());
  fileSize = constOffset + constantSize;

  if (fileSize > maxFileBytes)
    return module.emitError("the artifact would be ")
           << fileSize << " bytes (constants " << constantSize << "), more than the limit of "
           << maxFileBytes << " (--ds-max-artifact-bytes)";

  auto write = [&](llvm::raw_fd_ostream &os) -> llvm::Error {
    if (!os.supportsSeeking())
      return llvm::createStringError(std::errc::invalid_seek, "an artifact needs a seekable file");
    dsx_hasher hasher;
    dsx_hash_init(&hasher);
    auto emit = [&](ArrayRef<char> piece) {
      dsx_hash_update(&hasher, (const unsigned char *)piece.data(), piece.size());
      os.write(piece.data(), piece.size());
    };
    auto padTo = [&](uint64_t target, uint64_t current) {
      std::string zeros(target - current, '\0');
      emit(ArrayRef<char>(zeros.data(), zeros.size()));
    };
    // Header with a zero checksum, patched once everything is hashed.
    ByteWriter header;
    header.bytes.append(DSX_MAGIC, 7);
    header.u8(0);
    header.u32(DSX_FORMAT_VERSION);
    header.u32(DSX_HEADER_SIZE);
    header.u64(fileSize);
    header.u64(0);
    header.u64(metaOffset);
    header.u64(meta.bytes.size());
    header.u64(constOffset);
    header.u64(constantSize);
    header.bytes.resize(DSX_HEADER_SIZE, '\0');
    os.write(header.bytes.data(), header.bytes.size());
    emit(ArrayRef<char>(meta.bytes.data(), meta.bytes.size()));
    padTo(constOffset, metaOffset + meta.bytes.size());
    uint64_t written = 0;
    for (auto &[id, attr] : program.constants) {
      padTo(records[id].offset, written);
      uint64_t bytes = 0;
      const unsigned bits =
          records[id].flags & DSX_VALUE_PACKED_CODES ? dsx_packed_code_bits(records[id].dtype) : 0;
      streamStoredConstant(attr, bits, [&](ArrayRef<char> piece) {
        bytes += piece.size();
        emit(piece);
      });
      if (bytes != records[id].bytes)
        return llvm::createStringError(
            std::errc::invalid_argument, "a constant holds %llu bytes, expected %llu",
            (unsigned long long)bytes, (unsigned long long)records[id].bytes);
      written = records[id].offset + bytes;
    }
    if (payload)
      for (auto [image, offset] : llvm::zip(payload->images, layout.imageOffsets)) {
        padTo(offset, written);
        emit(ArrayRef<char>(image.bytes.data(), image.bytes.size()));
        written = offset + image.bytes.size();
      }
    padTo(constantSize, written);
    uint64_t hash = dsx_hash_final(&hasher);
    os.seek(24);
    os.write((const char *)&hash, 8);
    return llvm::Error::success();
  };
  if (llvm::Error e = writeFileAtomically(path, write))
    return module.emitError("cannot write artifact '")
           << path << "': " << llvm::toString(std::move(e));
  return success();
}
} // namespace

LogicalResult mlir::ds::writeArtifact(ModuleOp module, StringRef path, ArtifactStats *stats,
                                      const TargetPayload *payload, uint64_t maxFileBytes) {
  // Collect values and steps.
  Program program;
  if (failed(collectValues(module, payload, program)) ||
      failed(collectSteps(module, payload, program)) || failed(markAliases(module, program)))
    return failure();

  // Plan: the arena (one planner, dsrt::planArena, behind both), then the
  // constants section.
  Layout layout;
  if (payload)
    planFromPayloadSteps(program, layout);
  else
    planFromAnalysis(program, layout);
  layoutConstants(program, payload, layout);

  // Serialize.
  ByteWriter meta;
  uint64_t fileSize = 0;
  if (failed(writeMetadata(module, program, payload, layout, meta)) ||
      failed(writeFile(module, path, program, payload, layout, meta, maxFileBytes, fileSize)))
    return failure();

  if (stats) {
    stats->arenaBytes = layout.arenaBytes;
    stats->intermediateBytes = layout.intermediateBytes;
    stats->constantBytes = layout.constantSize;
    stats->fileBytes = fileSize;
    stats->steps = program.steps.size();
    for (const Program::Group &group : program.groups)
      if (group.numSteps > 1) {
        ++stats->fusedGroups;
        stats->fusedSteps += group.numSteps;
      }
  }
  return success();
}

std::vector<std::vector<int64_t>> ds::inputDimSymbols(func::FuncOp func) {
  std::vector<std::vector<int64_t>> out;
  llvm::StringMap<int64_t> byName;
  int64_t next = 0;
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    auto names = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "ds.dim_symbols");
    std::vector<int64_t> &dims = out.emplace_back(type ? type.getRank() : 0, -1);
    for (size_t d = 0; d < dims.size(); ++d) {
      if (!type.isDynamicDim(d))
        continue;
      StringRef name;
      if (names && d < names.size())
        if (auto s = dyn_cast<StringAttr>(names[d]))
          name = s.getValue();
      if (name.empty()) {
        dims[d] = next++;
        continue;
      }
      auto [it, inserted] = byName.try_emplace(name, next);
      if (inserted)
        ++next;
      dims[d] = it->second;
    }
  }
  return out;
}
