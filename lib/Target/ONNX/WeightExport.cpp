//===- WeightExport.cpp - write trained weights back into an ONNX model ---===//
#include "ds/Target/ONNX/WeightExport.h"

#include "onnx/onnx.pb.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

using namespace mlir::ds;

namespace {
std::string dimsText(llvm::ArrayRef<int64_t> dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

/// Sets `tensor`'s value to `weight` (raw little-endian bytes), checking that
/// dims and element type stay.
bool assign(onnx::TensorProto &tensor, const NamedWeight &weight, std::string &error) {
  std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  if (dims != weight.dims || tensor.data_type() != weight.onnxType) {
    error = "'" + weight.name + "' is ONNX type " + std::to_string(tensor.data_type()) + " " +
            dimsText(dims) + " in the model, the new value type " +
            std::to_string(weight.onnxType) + " " + dimsText(weight.dims);
    return false;
  }
  std::string name = tensor.name();
  tensor.Clear();
  tensor.set_name(name);
  tensor.set_data_type(weight.onnxType);
  for (int64_t d : weight.dims)
    tensor.add_dims(d);
  tensor.set_raw_data(weight.bytes);
  return true;
}
} // namespace

bool mlir::ds::writeModelWithWeights(const std::string &source,
                                     const std::string &destination,
                                     const std::vector<NamedWeight> &weights,
                                     std::string &error) {
  bool same = false;
  if (!llvm::sys::fs::equivalent(source, destination, same) && same) {
    error = destination + ": is the model being read; write to another file";
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getFile(source, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = source + ": " + buffer.getError().message();
    return false;
  }
  onnx::ModelProto model;
  if ((*buffer)->getBufferSize() > (size_t)INT32_MAX ||
      !model.ParseFromArray((*buffer)->getBufferStart(), (int)(*buffer)->getBufferSize())) {
    error = source + ": not a valid ONNX model (or over 2 GiB)";
    return false;
  }
  onnx::GraphProto &graph = *model.mutable_graph();
  llvm::StringMap<int> initializers;
  for (int i = 0; i < graph.initializer_size(); ++i) {
    if (graph.initializer(i).data_location() == onnx::TensorProto::EXTERNAL) {
      error = source + ": weights in external data files are not written back yet";
      return false;
    }
    initializers[graph.initializer(i).name()] = i;
  }
  // Identity copies of initializers, chains of them included: output name ->
  // (node index, the initializer it copies).
  llvm::StringMap<std::pair<int, std::string>> identityCopies;
  for (bool grew = true; grew;) {
    grew = false;
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto &node = graph.node(i);
      if (node.op_type() != "Identity" || !node.domain().empty() || node.input_size() != 1 ||
          node.output_size() != 1 || identityCopies.count(node.output(0)))
        continue;
      if (initializers.count(node.input(0)))
        identityCopies[node.output(0)] = {i, node.input(0)};
      else if (auto it = identityCopies.find(node.input(0)); it != identityCopies.end())
        identityCopies[node.output(0)] = {i, it->second.second};
      else
        continue;
      grew = true;
    }
  }
  llvm::StringSet<> seen;
  std::vector<int> dropped;
  for (const NamedWeight &weight : weights) {
    if (!seen.insert(weight.name).second) {
      error = source + ": '" + weight.name + "' is given twice";
      return false;
    }
    if (auto it = initializers.find(weight.name); it != initializers.end()) {
      if (!assign(*graph.mutable_initializer(it->second), weight, error))
        return false;
      continue;
    }
    auto copy = identityCopies.find(weight.name);
    if (copy == identityCopies.end()) {
      error = source + ": no initializer named '" + weight.name + "'";
      return false;
    }
    // The copied initializer as it was, renamed; the Identity goes.
    onnx::TensorProto tensor = graph.initializer(initializers[copy->second.second]);
    tensor.set_name(weight.name);
    if (!assign(tensor, weight, error))
      return false;
    *graph.add_initializer() = std::move(tensor);
    dropped.push_back(copy->second.first);
  }
  std::sort(dropped.begin(), dropped.end());
  for (auto it = dropped.rbegin(); it != dropped.rend(); ++it)
    graph.mutable_node()->DeleteSubrange(*it, 1);

  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    error = destination + ": the model cannot be serialized (over 2 GiB?)";
    return false;
  }
  llvm::SmallString<256> temp;
  int fd = -1;
  llvm::SmallString<256> folder(destination);
  llvm::sys::path::remove_filename(folder);
  if (folder.empty())
    folder = ".";
  llvm::SmallString<256> pattern(folder);
  llvm::sys::path::append(pattern, ".ds-onnx-%%%%%%.onnx");
  if (auto ec = llvm::sys::fs::createUniqueFile(pattern, fd, temp)) {
    error = destination + ": cannot create a temporary file: " + ec.message();
    return false;
  }
  // Removed on every way out but the rename.
  auto removeTemp = llvm::make_scope_exit([&] { llvm::sys::fs::remove(temp); });
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out << bytes;
    out.flush();
    std::error_code synced;
    if (!out.has_error() && ::fsync(fd) != 0)
      synced = std::error_code(errno, std::generic_category());
    out.close();
    if (out.has_error() || synced) {
      error = destination + ": " + (out.has_error() ? out.error() : synced).message();
      out.clear_error(); // else the stream's destructor reports it fatally
      return false;
    }
  }
  if (auto ec = llvm::sys::fs::rename(temp, destination)) {
    error = destination + ": " + ec.message();
    return false;
  }
  removeTemp.release();
  return true;
}
