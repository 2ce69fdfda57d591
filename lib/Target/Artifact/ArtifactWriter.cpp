//===- ArtifactWriter.cpp - ds module to a runtime artifact (.dsx) --------===//
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "MemoryPlan.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.h"
#include "ds/Dialect/DS/IR/DSOps.h"

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

/// Bytes of a constant, one element per byte for i1 and sub-byte integers.
std::string constantBytes(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t n = type.getNumElements();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return std::string(blob->getData().data(), blob->getData().size());
    return {};
  }
  auto dense = cast<DenseElementsAttr>(attr);
  Type element = type.getElementType();
  if (element.isInteger(1)) {
    std::string out(n, 0);
    int64_t i = 0;
    for (bool b : dense.getValues<bool>())
      out[i++] = b ? 1 : 0;
    return out;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat())
    return std::string(raw.data(), raw.size());
  std::string out;
  out.reserve(raw.size() * n);
  for (int64_t i = 0; i < n; ++i)
    out.append(raw.data(), raw.size());
  return out;
}

struct ValueRecord {
  ds_dtype dtype;
  dsx_storage storage;
  SmallVector<int64_t> dims;
  uint64_t offset = 0, bytes = 0;
  std::string name;
  int64_t firstUse = 0, lastUse = 0; // step indices, for the arena plan
};
} // namespace

LogicalResult mlir::ds::writeArtifact(ModuleOp module, StringRef path, ArtifactStats *stats) {
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
    if (!type.hasStaticShape())
      return emitError(v.getLoc(), "artifact writer: dynamic dims are not supported yet (")
             << type << "); bind them with --ds-input-shape";
    auto dtype = toDType(type.getElementType());
    if (!dtype)
      return emitError(v.getLoc(), "artifact writer: unsupported element type ")
             << type.getElementType();
    ValueRecord r;
    r.dtype = *dtype;
    r.storage = storage;
    r.dims.assign(type.getShape().begin(), type.getShape().end());
    r.bytes = (uint64_t)type.getNumElements() * storageBytes(type.getElementType());
    r.name = std::move(name);
    ids[v] = (uint32_t)records.size();
    records.push_back(std::move(r));
    return success();
  };

  for (BlockArgument arg : body.getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "ds.name");
    if (failed(addValue(arg, DSX_STORAGE_INPUT,
                        name ? name.str() : "input" + std::to_string(arg.getArgNumber()))))
      return failure();
  }

  // Constants and steps, in program order.
  SmallVector<Operation *> steps;
  SmallVector<std::pair<uint32_t, ElementsAttr>> constants;
  for (Operation &op : body.without_terminator()) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (failed(addValue(constant.getResult(), DSX_STORAGE_CONSTANT, "")))
        return failure();
      constants.push_back({ids[constant.getResult()], constant.getValue()});
      continue;
    }
    if (op.getDialect() != op.getContext()->getLoadedDialect<DSDialect>() ||
        op.getNumRegions() != 0)
      return op.emitError("artifact writer: only ds ops can be written, not ") << op.getName();
    for (Value result : op.getResults())
      if (failed(addValue(result, DSX_STORAGE_ARENA, "")))
        return failure();
    steps.push_back(&op);
  }

  // Lifetimes: from the defining step to the last reading step; graph
  // outputs stay alive to the end.
  int64_t end = (int64_t)steps.size();
  for (auto [index, op] : llvm::enumerate(steps)) {
    for (Value result : op->getResults())
      records[ids[result]].firstUse = records[ids[result]].lastUse = (int64_t)index;
    for (Value operand : op->getOperands())
      records[ids[operand]].lastUse = std::max(records[ids[operand]].lastUse, (int64_t)index);
  }
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  for (Value v : returnOp.getOperands())
    records[ids[v]].lastUse = end;

  std::vector<BufferLifetime> lifetimes;
  std::vector<uint32_t> arenaIds;
  uint64_t intermediateBytes = 0;
  for (auto [id, r] : llvm::enumerate(records)) {
    if (r.storage != DSX_STORAGE_ARENA)
      continue;
    lifetimes.push_back({r.firstUse, r.lastUse, r.bytes});
    arenaIds.push_back((uint32_t)id);
    intermediateBytes += r.bytes;
  }
  uint64_t arenaBytes = 0;
  std::vector<uint64_t> offsets = planArena(lifetimes, DSX_CONSTANT_ALIGNMENT, arenaBytes);
  for (auto [i, id] : llvm::enumerate(arenaIds))
    records[id].offset = offsets[i];

  // Constant offsets within their section.
  uint64_t constantSize = 0;
  for (auto &[id, attr] : constants) {
    records[id].offset = constantSize;
    constantSize += (records[id].bytes + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT *
                    DSX_CONSTANT_ALIGNMENT;
  }

  // Metadata.
  ByteWriter meta;
  meta.u32((uint32_t)records.size());
  for (const ValueRecord &r : records) {
    meta.u8((uint8_t)r.dtype);
    meta.u8((uint8_t)r.storage);
    meta.u16(0);
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
  for (Operation *op : steps) {
    meta.str(op->getName().getStringRef());
    // Expand optional operand groups so that every ODS slot is present.
    SmallVector<uint32_t> inputs;
    if (auto segments = op->getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes")) {
      unsigned next = 0;
      for (int32_t size : segments.asArrayRef()) {
        if (size == 0)
          inputs.push_back(DSX_ABSENT);
        for (int32_t k = 0; k < size; ++k)
          inputs.push_back(ids[op->getOperand(next++)]);
      }
    } else {
      for (Value v : op->getOperands())
        inputs.push_back(ids[v]);
    }
    meta.u32((uint32_t)inputs.size());
    for (uint32_t id : inputs)
      meta.u32(id);
    meta.u32(op->getNumResults());
    for (Value v : op->getResults())
      meta.u32(ids[v]);
    SmallVector<NamedAttribute> attrs;
    for (NamedAttribute attr : op->getAttrDictionary())
      if (attr.getName() != "operandSegmentSizes")
        attrs.push_back(attr);
    meta.u32((uint32_t)attrs.size());
    for (NamedAttribute attr : attrs) {
      StringRef name = attr.getName().getValue();
      meta.str(name);
      Attribute value = attr.getValue();
      if (auto spelled = enumSpelling(op, name)) {
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
          return op->emitError("artifact writer: unsupported tensor attribute ") << name;
        meta.u8(DSX_ATTR_TENSOR);
        meta.u8((uint8_t)*dtype);
        meta.str(constantBytes(elements));
      } else {
        return op->emitError("artifact writer: cannot serialize attribute '") << name << "'";
      }
    }
  }

  // File: header, metadata, constants (aligned).
  auto alignUp = [](uint64_t v) {
    return (v + DSX_CONSTANT_ALIGNMENT - 1) / DSX_CONSTANT_ALIGNMENT * DSX_CONSTANT_ALIGNMENT;
  };
  uint64_t metaOffset = DSX_HEADER_SIZE;
  uint64_t constOffset = alignUp(metaOffset + meta.bytes.size());
  uint64_t fileSize = constOffset + constantSize;

  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return module.emitError("cannot write artifact '") << path << "': " << ec.message();
  dsx_hasher hasher;
  dsx_hash_init(&hasher);
  auto emit = [&](const char *data, size_t size) {
    dsx_hash_update(&hasher, (const unsigned char *)data, size);
    os.write(data, size);
  };
  auto padTo = [&](uint64_t target, uint64_t current) {
    std::string zeros(target - current, '\0');
    emit(zeros.data(), zeros.size());
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
  emit(meta.bytes.data(), meta.bytes.size());
  padTo(constOffset, metaOffset + meta.bytes.size());
  uint64_t written = 0;
  for (auto &[id, attr] : constants) {
    std::string bytes = constantBytes(attr);
    if (bytes.size() != records[id].bytes)
      return module.emitError("artifact writer: constant holds ")
             << bytes.size() << " bytes, expected " << records[id].bytes;
    padTo(records[id].offset, written);
    emit(bytes.data(), bytes.size());
    written = records[id].offset + bytes.size();
  }
  padTo(constantSize, written);
  uint64_t hash = dsx_hash_final(&hasher);
  os.seek(24);
  os.write((const char *)&hash, 8);
  os.close();
  if (os.has_error())
    return module.emitError("cannot write artifact '") << path << "': " << os.error().message();

  if (stats) {
    stats->arenaBytes = arenaBytes;
    stats->intermediateBytes = intermediateBytes;
    stats->constantBytes = constantSize;
    stats->fileBytes = fileSize;
    stats->steps = steps.size();
  }
  return success();
}
