//===- EmitCUDAPass.cpp - `ds-opt --ds-emit-cuda` ------------------------===//
//
// Prints what the CUDA target emits for a module: the CUDA source, then the
// step list as comments. For FileCheck tests and for reading the kernels;
// `ds-compile --target=cuda --dump-cuda=-` prints the same source.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/CUDAEmitter.h"
#include "ds/Target/CUDA/Passes.h"
#include "ds/Support/OutputFile.h"

namespace mlir::ds {
#define GEN_PASS_DEF_EMITCUDAPASS
#include "ds/Target/CUDA/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

void ds::printCUDASteps(const CUDAProgram &program, llvm::raw_ostream &os) {
  // Values are numbered by first appearance, as the step list sees them.
  llvm::DenseMap<Value, unsigned> numbers;
  auto number = [&](Value v) -> std::string {
    if (!v)
      return "absent";
    auto [it, inserted] = numbers.try_emplace(v, numbers.size());
    return "%" + std::to_string(it->second);
  };
  os << "// ---- steps ----\n";
  for (const ArtifactStep &step : program.steps) {
    os << "// " << step.name << " (";
    for (auto [i, v] : llvm::enumerate(step.inputs)) {
      os << (i ? ", " : "") << number(v);
      if (v)
        os << ": " << v.getType();
    }
    os << ") -> (";
    for (auto [i, v] : llvm::enumerate(step.outputs))
      os << (i ? ", " : "") << number(v) << ": " << v.getType();
    os << ")";
    for (NamedAttribute attr : step.attrs)
      os << " " << attr.getName().getValue() << "=" << attr.getValue();
    os << "\n";
  }
}

namespace {
struct EmitCUDAPass : public ds::impl::EmitCUDAPassBase<EmitCUDAPass> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<CUDAProgram> program = emitCUDA(getOperation());
    if (failed(program))
      return signalPassFailure();
    if (llvm::Error e = writeFileAtomically(output, [&](llvm::raw_fd_ostream &os) {
          os << program->source;
          printCUDASteps(*program, os);
          return llvm::Error::success();
        })) {
      getOperation().emitError("cannot write the CUDA source: ") << llvm::toString(std::move(e));
      return signalPassFailure();
    }
    markAllAnalysesPreserved();
  }
};
} // namespace

