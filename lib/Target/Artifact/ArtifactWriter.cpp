//===- ArtifactWriter.cpp - ds module to a runtime artifact (.dsx) --------===//
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "core/ArenaPlan.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Support/OutputFile.h"

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

/// Bytes per element as the runtime stores them (bool and sub-byte integers
/// take one byte each).
uint64_t storageBytes(Type t) { return t.isInteger(1) ? 1 : (t.getIntOrFloatBitWidth() + 7) / 8; }

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

/// The enum attributes as their printed spellings, so the runtime never
/// depends on enum numbering.
std::optional<std::string> enumSpelling(Operation *op, StringRef name) {
  if (name == "kind") {
    if (auto o = dyn_cast<UnaryOp>(op)) return stringifyUnaryKind(o.getKind()).str();
    if (auto o = dyn_cast<BinaryOp>(op)) return stringifyBinaryKind(o.getKind()).str();
    if (auto o = dyn_cast<CompareOp>(op)) return stringifyCompareKind(o.getKind()).str();
    if (auto o = dyn_cast<ReduceOp>(op)) return stringifyReduceKind(o.getKind()).str();
    if (auto o = dyn_cast<ArgReduceOp>(op)) return stringifyArgReduceKind(o.getKind()).str();
    if (auto o = dyn_cast<PoolOp>(op)) return stringifyPoolKind(o.getKind()).str();
    if (auto o = dyn_cast<NormOp>(op)) return stringifyNormKind(o.getKind()).str();
  }
  if (name == "reduction") {
    if (auto o = dyn_cast<ScatterElementsOp>(op)) return stringifyScatterReduction(o.getReduction()).str();
    if (auto o = dyn_cast<ScatterNDOp>(op)) return stringifyScatterReduction(o.getReduction()).str();
  }
  if (name == "mode")
    if (auto o = dyn_cast<PadOp>(op))
      return stringifyPadMode(o.getMode()).str();
  return std::nullopt;
}

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
/// k: one symbol per ONNX dim_param (`ds.dim_symbols`), a fresh one per
/// anonymous dim; bounds (`ds.dim_bounds`) of a shared symbol intersect.
LogicalResult assignDimSymbols(func::FuncOp func, BlockArgument arg, ValueRecord &record,
                               std::vector<DimSymbol> &symbols,
                               llvm::StringMap<size_t> &byName) {
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
    size_t k;
    auto found = name.empty() ? byName.end() : byName.find(name);
    if (found != byName.end()) {
      k = found->second;
    } else {
      k = symbols.size();
      symbols.push_back({name.empty() ? record.name + ":" + std::to_string(d) : name.str(), 0, -1});
      if (!name.empty())
        byName[name] = k;
    }
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
} // namespace

LogicalResult mlir::ds::writeArtifact(ModuleOp module, StringRef path, ArtifactStats *stats,
                                      const TargetPayload *payload, uint64_t maxFileBytes) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func)
    return module.emitError("artifact writer: no func.func @main");
  if (!func.getBody().hasOneBlock())
    return func.emitError("artifact writer: @main must have one block");
  Block &body = func.getBody().front();

  llvm::DenseMap<Value, uint32_t> ids;
  std::vector<ValueRecord> records;
  auto addValue = [&](Value v, dsx_storage storage, std::string name) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type)
      return emitError(v.getLoc(), "artifact writer: value of type ") << v.getType()
                                                                       << " is not a ranked tensor";
    if (!type.hasStaticShape() && payload)
      return emitError(v.getLoc(), "artifact writer: the CUDA backend needs static shapes (")
             << type << "); bind the dynamic dims with --ds-input-shape";
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
                  ? (uint64_t)type.getNumElements() * storageBytes(type.getElementType())
                  : 0;
    for (int64_t &d : r.dims)
      if (ShapedType::isDynamic(d))
        d = -1;
    r.name = std::move(name);
    ids[v] = (uint32_t)records.size();
    records.push_back(std::move(r));
    return success();
  };

  // Constants: values of ds.constant, and defaults of inputs that have one.
  SmallVector<std::pair<uint32_t, ElementsAttr>> constants;
  std::vector<DimSymbol> symbols;
  llvm::StringMap<size_t> symbolsByName;
  for (BlockArgument arg : body.getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "ds.name");
    if (failed(addValue(arg, DSX_STORAGE_INPUT,
                        name ? name.str() : "input" + std::to_string(arg.getArgNumber()))) ||
        failed(assignDimSymbols(func, arg, records.back(), symbols, symbolsByName)))
      return failure();
    if (auto value = func.getArgAttrOfType<ElementsAttr>(arg.getArgNumber(), "ds.default")) {
      if (value.getType() != arg.getType())
        return func.emitError("artifact writer: the default of input '")
               << records.back().name << "' has type " << value.getType() << ", not "
               << arg.getType();
      records.back().flags = DSX_VALUE_HAS_DEFAULT;
      constants.push_back({ids[arg], value});
    }
  }

  // Constants and steps, in program order.
  std::vector<StepRecord> steps;
  for (Operation &op : body.without_terminator()) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (failed(addValue(constant.getResult(), DSX_STORAGE_CONSTANT, "")))
        return failure();
      constants.push_back({ids[constant.getResult()], constant.getValue()});
      continue;
    }
    // With a target payload the ops (fusion groups) only define the values;
    // the payload's steps compute them.
    if (op.getDialect() != op.getContext()->getLoadedDialect<DSDialect>() ||
        (!payload && op.getNumRegions() != 0))
      return op.emitError("artifact writer: only ds ops can be written, not ") << op.getName();
    for (Value result : op.getResults())
      if (failed(addValue(result, DSX_STORAGE_ARENA, "")))
        return failure();
    if (payload)
      continue;
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
    steps.push_back(std::move(step));
  }
  if (payload) {
    for (const ArtifactStep &s : payload->steps) {
      StepRecord step{s.name, s.inputs, s.outputs, s.attrs, nullptr};
      for (Value v : llvm::concat<const Value>(step.inputs, step.outputs))
        if (v && !ids.count(v))
          return module.emitError("artifact writer: step '")
                 << s.name << "' refers to a value that is not in @main";
      steps.push_back(std::move(step));
    }
  }

  // A cuda.alias output shares the bytes of its input's root, which then has
  // to live as long as every alias.
  auto root = [&](uint32_t id) {
    while (records[id].aliasOf >= 0)
      id = (uint32_t)records[id].aliasOf;
    return id;
  };
  for (const StepRecord &step : steps) {
    if (step.name != "cuda.alias")
      continue;
    if (step.inputs.size() != 1 || step.outputs.size() != 1 || !step.inputs[0])
      return module.emitError("artifact writer: cuda.alias needs one input and one output");
    uint32_t in = ids[step.inputs[0]], out = ids[step.outputs[0]];
    if (records[root(in)].storage == DSX_STORAGE_INPUT || records[in].bytes != records[out].bytes)
      return module.emitError("artifact writer: cuda.alias of a graph input or of another size");
    records[out].aliasOf = in;
  }

  // Lifetimes: from the defining step to the last reading step; graph
  // outputs stay alive to the end.
  int64_t end = (int64_t)steps.size();
  auto use = [&](uint32_t id, int64_t index) {
    ValueRecord &r = records[root(id)];
    r.lastUse = std::max(r.lastUse, index);
  };
  for (auto [index, step] : llvm::enumerate(steps)) {
    for (Value result : step.outputs)
      if (records[ids[result]].aliasOf < 0)
        records[ids[result]].firstUse = records[ids[result]].lastUse = (int64_t)index;
      else
        use(ids[result], (int64_t)index);
    for (Value operand : step.inputs)
      if (operand)
        use(ids[operand], (int64_t)index);
  }
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  for (Value v : returnOp.getOperands())
    use(ids[v], end);

  // A program with dynamic values is planned by the runtime, per input shape.
  bool dynamic = llvm::any_of(records, [](const ValueRecord &r) {
    return llvm::any_of(r.dims, [](int64_t d) { return d < 0; });
  });
  std::vector<dsrt::BufferLifetime> lifetimes;
  std::vector<uint32_t> arenaIds;
  uint64_t intermediateBytes = 0;
  for (auto [id, r] : llvm::enumerate(records)) {
    if (r.storage != DSX_STORAGE_ARENA || r.aliasOf >= 0 || dynamic)
      continue;
    lifetimes.push_back({r.firstUse, r.lastUse, r.bytes});
    arenaIds.push_back((uint32_t)id);
    intermediateBytes += r.bytes;
  }
  uint64_t arenaBytes = 0;
  std::vector<uint64_t> offsets = dsrt::planArena(lifetimes, DSX_CONSTANT_ALIGNMENT, arenaBytes);
  for (auto [i, id] : llvm::enumerate(arenaIds))
    records[id].offset = offsets[i];

  // Constant offsets within their section.
  uint64_t constantSize = 0;
  for (auto &[id, attr] : constants) {
    records[id].offset = constantSize;
    constantSize += (records[id].bytes + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT *
                    DSX_CONSTANT_ALIGNMENT;
  }
  // Aliases take their root's place (arena or constant).
  for (ValueRecord &r : records)
    if (r.aliasOf >= 0) {
      int64_t id = r.aliasOf;
      while (records[id].aliasOf >= 0)
        id = records[id].aliasOf;
      r.storage = records[id].storage;
      r.offset = records[id].offset;
    }
  // Code images follow the constants, each aligned.
  std::vector<uint64_t> imageOffsets;
  if (payload)
    for (const ArtifactImage &image : payload->images) {
      imageOffsets.push_back(constantSize);
      constantSize += (image.bytes.size() + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT *
                      DSX_CONSTANT_ALIGNMENT;
    }

  // Metadata.
  ByteWriter meta;
  meta.u32((uint32_t)records.size());
  for (const ValueRecord &r : records) {
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
  meta.u64(arenaBytes);
  meta.u32(body.getNumArguments());
  for (BlockArgument arg : body.getArguments())
    meta.u32(ids[arg]);
  meta.u32(returnOp.getNumOperands());
  for (auto [i, v] : llvm::enumerate(returnOp.getOperands())) {
    meta.u32(ids[v]);
  }
  // Output names ride on a second list so an output may alias an input.
  for (unsigned i = 0; i < returnOp.getNumOperands(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "ds.name");
    meta.str(name ? name.str() : "output" + std::to_string(i));
  }
  meta.u32((uint32_t)steps.size());
  for (const StepRecord &step : steps) {
    Operation *op = step.op;
    meta.str(step.name);
    meta.u32((uint32_t)step.inputs.size());
    for (Value v : step.inputs)
      meta.u32(v ? ids[v] : DSX_ABSENT);
    meta.u32((uint32_t)step.outputs.size());
    for (Value v : step.outputs)
      meta.u32(ids[v]);
    auto fail = [&]() { return op ? op->emitError() : module.emitError(); };
    meta.u32((uint32_t)step.attrs.size());
    for (NamedAttribute attr : step.attrs) {
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
    }
  }
  // Format version 2: the target and its code images.
  meta.u32(payload ? payload->target : 0);
  meta.u32(payload ? (uint32_t)payload->images.size() : 0);
  if (payload)
    for (auto [image, offset] : llvm::zip(payload->images, imageOffsets)) {
      meta.str(image.arch);
      meta.u64(offset);
      meta.u64(image.bytes.size());
    }

  // Format version 3: the dim symbols.
  meta.u32((uint32_t)symbols.size());
  for (const DimSymbol &symbol : symbols) {
    meta.str(symbol.name);
    meta.i64(symbol.min);
    meta.i64(symbol.max);
  }

  // File: header, metadata, constants (aligned).
  auto alignUp = [](uint64_t v) {
    return (v + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT * DSX_CONSTANT_ALIGNMENT;
  };
  uint64_t metaOffset = DSX_HEADER_SIZE;
  uint64_t constOffset = alignUp(metaOffset + meta.bytes.size());
  uint64_t fileSize = constOffset + constantSize;

  if (fileSize > maxFileBytes)
    return module.emitError("the artifact would be ")
           << fileSize << " bytes (constants " << constantSize << "), more than the limit of "
           << maxFileBytes << " (--ds-max-artifact-bytes)";

  // To a temporary file renamed into place: a failure leaves `path` as it was.
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
    for (auto &[id, attr] : constants) {
      padTo(records[id].offset, written);
      uint64_t bytes = 0;
      streamConstant(attr, [&](ArrayRef<char> piece) {
        bytes += piece.size();
        emit(piece);
      });
      if (bytes != records[id].bytes)
        return llvm::createStringError(std::errc::invalid_argument,
                                       "a constant holds %llu bytes, expected %llu",
                                       (unsigned long long)bytes,
                                       (unsigned long long)records[id].bytes);
      written = records[id].offset + bytes;
    }
    if (payload)
      for (auto [image, offset] : llvm::zip(payload->images, imageOffsets)) {
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

  if (stats) {
    stats->arenaBytes = arenaBytes;
    stats->intermediateBytes = intermediateBytes;
    stats->constantBytes = constantSize;
    stats->fileBytes = fileSize;
    stats->steps = steps.size();
  }
  return success();
}
