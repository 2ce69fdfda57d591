//===- OutputFile.h - files the compiler writes -----------------*- C++ -*-===//
//
// Every file a ds tool writes goes through writeFileAtomically, and a tool
// refuses an output that is one of its inputs (checkOutputIsNotAnInput), so
// that no compile can destroy a model, its weights or a previous artifact.
//
//===----------------------------------------------------------------------===//
#ifndef DS_SUPPORT_OUTPUTFILE_H
#define DS_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::ds {

/// Writes `path` by calling `write` on a new file with a unique name in the
/// same folder, which is renamed over `path` only once `write` succeeded and
/// every byte reached the file. Readers, and sessions that map the previous
/// file, see the old file or the new one, never a partial one; concurrent
/// writers each produce a whole file (the last rename wins); a failure or a
/// crash leaves `path` as it was (the temporary file is removed, except after
/// SIGKILL). "-" writes to stdout; an existing file that is not a regular
/// file (/dev/null, a FIFO) is written in place.
llvm::Error writeFileAtomically(llvm::StringRef path,
                                llvm::function_ref<llvm::Error(llvm::raw_fd_ostream &)> write);

/// Fails when `output` is the same file as one of `inputs` (same device and
/// inode, so symlinks, hard links and `./x` spellings are caught) or is a
/// folder. An output that does not exist yet aliases nothing.
llvm::Error checkOutputIsNotAnInput(llvm::StringRef output, llvm::ArrayRef<std::string> inputs);

} // namespace mlir::ds

#endif // DS_SUPPORT_OUTPUTFILE_H
