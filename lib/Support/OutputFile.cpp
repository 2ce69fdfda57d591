//===- OutputFile.cpp - files the compiler writes -------------------------===//
#include "ds/Support/OutputFile.h"

#include "llvm/Support/FileSystem.h"

#include <cerrno>
#include <unistd.h>

using namespace llvm;

Error mlir::ds::writeFileAtomically(StringRef path,
                                    function_ref<Error(raw_fd_ostream &)> write) {
  sys::fs::file_status status;
  bool special = !sys::fs::status(path, status) && sys::fs::exists(status) &&
                 status.type() != sys::fs::file_type::regular_file;
  if (path == "-" || special) {
    std::error_code ec;
    raw_fd_ostream os(path, ec, sys::fs::OF_None);
    if (ec)
      return createFileError(path, ec);
    Error result = write(os);
    os.flush(); // not close(): "-" is stdout, which stays open
    if (!result && os.has_error())
      result = createFileError(path, os.error());
    os.clear_error(); // reported; the stream must not abort on destruction
    return result;
  }
  // The temporary file is created with O_EXCL from a random name, so
  // concurrent writers (also in other processes) never share one.
  Expected<sys::fs::TempFile> temp = sys::fs::TempFile::create(
      path + ".tmp-%%%%%%%%", sys::fs::all_read | sys::fs::all_write);
  if (!temp)
    return createFileError(path, temp.takeError());
  Error result = Error::success();
  {
    raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    result = write(os);
    os.flush();
    if (!result && os.has_error())
      result = createFileError(path, os.error());
    os.clear_error(); // reported above; the stream must not abort
  }
  // On disk before the rename, so that after a power loss the name holds
  // the old file or the whole new one.
  if (!result && ::fsync(temp->FD) != 0)
    result = createFileError(path, std::error_code(errno, std::generic_category()));
  if (result) {
    consumeError(temp->discard());
    return result;
  }
  return temp->keep(path);
}

Error mlir::ds::checkOutputIsNotAnInput(StringRef output, ArrayRef<std::string> inputs) {
  if (output == "-")
    return Error::success();
  sys::fs::file_status out;
  if (sys::fs::status(output, out) || !sys::fs::exists(out))
    return Error::success(); // a new file
  if (out.type() == sys::fs::file_type::directory_file)
    return createStringError(std::errc::is_a_directory, "output '%s' is a directory",
                             output.str().c_str());
  for (const std::string &input : inputs) {
    sys::fs::file_status in;
    if (!sys::fs::status(input, in) && in.getUniqueID() == out.getUniqueID())
      return createStringError(std::errc::file_exists,
                               "output '%s' is the input '%s'; writing it would destroy "
                               "the input (choose another output path)",
                               output.str().c_str(), input.c_str());
  }
  return Error::success();
}
