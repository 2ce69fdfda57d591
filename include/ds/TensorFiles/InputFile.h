//===- InputFile.h - opening untrusted input files ---------------*- C++ -*-===//
#ifndef DS_TENSORFILES_INPUTFILE_H
#define DS_TENSORFILES_INPUTFILE_H

#include <cstdint>
#include <cstdio>
#include <string>

namespace dsrun {

/// An input file open for reading; closed with the object.
struct InputFile {
  FILE *f = nullptr;
  uint64_t size = 0;
  InputFile() = default;
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;
  ~InputFile() {
    if (f)
      std::fclose(f);
  }
};

/// Opens `path` if it is a regular file: opening does not wait on a FIFO
/// (O_NONBLOCK) and the kind is checked on the open descriptor, so FIFOs,
/// devices and folders are refused at once. False with `error` set otherwise.
bool openInputFile(const std::string &path, InputFile &file, std::string &error);

} // namespace dsrun

#endif // DS_TENSORFILES_INPUTFILE_H
