//===- Checkpoint.cpp - training checkpoint files -------------------------===//
#include "core/Checkpoint.h"

#include "ds-runtime/ds_artifact_format.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dsrt {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'C', 'K', 'P', 'T', '1', '\0'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kHeaderSize = 64;
constexpr uint32_t kFlagLossScaling = 1;
constexpr uint32_t kMaxRank = 64;

template <typename T> void put(std::string &out, T value) {
  out.append(reinterpret_cast<const char *>(&value), sizeof(T));
}

/// Appends to a file descriptor and hashes what it writes.
class HashingWriter {
public:
  explicit HashingWriter(int fd) : fd_(fd) { dsx_hash_init(&hasher_); }
  bool write(const void *data, uint64_t size) {
    dsx_hash_update(&hasher_, static_cast<const unsigned char *>(data), size);
    written_ += size;
    const char *p = static_cast<const char *>(data);
    while (size) {
      ssize_t n = ::write(fd_, p, size > (1u << 30) ? (1u << 30) : size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      size -= (uint64_t)n;
    }
    return true;
  }
  uint64_t written() const { return written_; }
  uint64_t checksum() { return dsx_hash_final(&hasher_); }

private:
  int fd_;
  dsx_hasher hasher_;
  uint64_t written_ = 0;
};

std::string systemError(const std::string &what) { return what + ": " + std::strerror(errno); }

/// Reads fields of the body in order, refusing to run past its end.
class BodyReader {
public:
  BodyReader(const std::string &data, size_t offset) : data_(data), offset_(offset) {}
  template <typename T> bool get(T &value) {
    if (data_.size() - offset_ < sizeof(T))
      return false;
    std::memcpy(&value, data_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool bytes(uint64_t size, std::string &out) {
    if (data_.size() - offset_ < size)
      return false;
    out.assign(data_.data() + offset_, size);
    offset_ += size;
    return true;
  }
  bool atEnd() const { return offset_ == data_.size(); }

private:
  const std::string &data_;
  size_t offset_;
};

Status readWholeFile(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error(systemError(path), DS_IO_ERROR);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path + ": not a regular file", DS_IO_ERROR);
  }
  out.resize((size_t)st.st_size);
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, &out[done], out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      Status s = Status::error(systemError(path), DS_IO_ERROR);
      ::close(fd);
      return s;
    }
    if (n == 0)
      break; // shorter than fstat said: the size check refuses it
    done += (size_t)n;
  }
  ::close(fd);
  out.resize(done);
  return Status();
}

} // namespace

/// The temporary file of a write: closed and removed unless committed.
class TempFile {
public:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~TempFile() {
    if (fd_ >= 0)
      ::close(fd_);
    if (!committed_)
      ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string &path() const { return path_; }
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }
  void commit() { committed_ = true; }

private:
  std::string path_;
  int fd_;
  bool committed_ = false;
};

Status writeCheckpoint(const std::string &path, const Checkpoint &checkpoint) {
  std::string body;
  put(body, checkpoint.stepsDone);
  put(body, checkpoint.learningRate);
  put(body, checkpoint.lossScaling ? kFlagLossScaling : 0u);
  put(body, (uint32_t)checkpoint.tensors.size());
  if (checkpoint.lossScaling) {
    put(body, checkpoint.scaler.scale);
    put(body, checkpoint.scaler.minimum);
    put(body, checkpoint.scaler.growth_interval);
    put(body, checkpoint.scaler.clean_steps);
    put(body, checkpoint.scaler.skipped_steps);
  }
  std::string folder = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos)
    folder = slash ? path.substr(0, slash) : "/";
  std::string name = folder + "/.ds-ckpt-XXXXXX";
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    return Status::error(systemError(path + ": cannot create a temporary file in " + folder),
                         DS_IO_ERROR);
  TempFile temp(name, fd);
  auto fail = [&](const std::string &what) {
    return Status::error(systemError(path + ": " + what), DS_IO_ERROR);
  };
  // mkstemp makes the file 0600; a checkpoint keeps the mode of the one it
  // replaces, or gets 0644.
  struct stat old;
  ::fchmod(fd, ::stat(path.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0644);
  // The header last: its size and checksum are known once the body is out.
  if (::lseek(fd, kHeaderSize, SEEK_SET) != (off_t)kHeaderSize)
    return fail("cannot write");
  HashingWriter writer(fd);
  bool ok = writer.write(body.data(), body.size());
  for (const CheckpointTensor &t : checkpoint.tensors) {
    std::string record;
    put(record, (uint32_t)t.name.size());
    record += t.name;
    put(record, (uint8_t)t.dtype);
    put(record, (uint32_t)t.dims.size());
    for (int64_t d : t.dims)
      put(record, d);
    put(record, t.byteSize);
    ok = ok && writer.write(record.data(), record.size()) && writer.write(t.data, t.byteSize);
  }
  if (!ok)
    return fail("cannot write");
  std::string header(kMagic, sizeof(kMagic));
  put(header, kVersion);
  put(header, kHeaderSize);
  put(header, (uint64_t)kHeaderSize + writer.written());
  put(header, writer.checksum());
  header.resize(kHeaderSize, '\0');
  if (::pwrite(fd, header.data(), header.size(), 0) != (ssize_t)header.size())
    return fail("cannot write");
  if (::fsync(fd) != 0)
    return fail("cannot flush to disk");
  if (!temp.close())
    return fail("cannot write");
  if (::rename(temp.path().c_str(), path.c_str()) != 0)
    return fail("cannot replace");
  temp.commit();
  // The rename itself reaches the disk with the folder.
  if (int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status();
}

Status readCheckpoint(const std::string &path, Checkpoint &out) {
  std::string data;
  if (Status s = readWholeFile(path, data); !s)
    return s;
  return parseCheckpoint(data, path, out);
}

Status parseCheckpoint(const std::string &data, const std::string &path, Checkpoint &out) {
  auto bad = [&](const std::string &why) {
    return Status::error(path + ": not a readable checkpoint (" + why + ")", DS_INVALID_ARTIFACT);
  };
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
    return bad("not a ds training checkpoint");
  BodyReader header(data, sizeof(kMagic));
  uint32_t version = 0, headerSize = 0, flags = 0, count = 0;
  uint64_t fileSize = 0, checksum = 0;
  Checkpoint c;
  header.get(version);
  header.get(headerSize);
  header.get(fileSize);
  header.get(checksum);
  if (version != kVersion || headerSize != kHeaderSize)
    return bad("format version " + std::to_string(version) + ", this runtime reads " +
               std::to_string(kVersion));
  if (fileSize != data.size())
    return bad("it is " + std::to_string(data.size()) + " bytes, its header says " +
               std::to_string(fileSize) + ": torn");
  if (dsx_checksum(reinterpret_cast<const unsigned char *>(data.data()) + kHeaderSize,
                   data.size() - kHeaderSize) != checksum)
    return bad("the contents do not match their checksum");
  if (data.find_first_not_of('\0', 32) < kHeaderSize)
    return bad("unknown header fields");
  BodyReader body(data, kHeaderSize);
  if (!body.get(c.stepsDone) || !body.get(c.learningRate) || !body.get(flags) ||
      !body.get(count))
    return bad("the body is cut short");
  if (flags & ~kFlagLossScaling)
    return bad("unknown flags");
  c.lossScaling = flags & kFlagLossScaling;
  if (c.lossScaling &&
      !(body.get(c.scaler.scale) && body.get(c.scaler.minimum) &&
        body.get(c.scaler.growth_interval) && body.get(c.scaler.clean_steps) &&
        body.get(c.scaler.skipped_steps)))
    return bad("the loss scaler is cut short");
  // Each tensor takes at least 17 bytes: the count is bounded by the file.
  if (count > data.size() / 17)
    return bad("tensor count " + std::to_string(count) + " does not fit the file");
  for (uint32_t i = 0; i < count; ++i) {
    CheckpointTensor &t = c.tensors.emplace_back();
    uint32_t nameSize = 0, rank = 0;
    uint8_t dtype = 0;
    if (!body.get(nameSize) || !body.bytes(nameSize, t.name) || !body.get(dtype) ||
        !body.get(rank) || rank > kMaxRank)
      return bad("a tensor record is malformed");
    t.dtype = (ds_dtype)dtype;
    t.dims.resize(rank);
    for (int64_t &d : t.dims)
      if (!body.get(d) || d < 0)
        return bad("tensor '" + t.name + "' has a malformed shape");
    if (!body.get(t.byteSize) || !body.bytes(t.byteSize, t.bytes))
      return bad("tensor '" + t.name + "' is cut short");
  }
  if (!body.atEnd())
    return bad("bytes after the last tensor");
  out = std::move(c);
  return Status();
}

} // namespace dsrt
