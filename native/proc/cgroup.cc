// Cgroup membership without spawning anything:
//   CgroupProcs: keeps one cgroup.procs fd open and moves PIDs with one write(2)
//     each, so a long-running program enrolls thousands of processes at the
//     kernel's speed and learns each PID's own outcome. enroll(pids) answers
//     with one object per PID; writePids(Int32Array) with one errno per PID in
//     an Int32Array: a constant number of N-API calls per batch instead of
//     several per PID, so large batches cost little more than the writes.
//   cgroupId(path): the 64-bit cgroup v2 ID that nf_tables' `socket cgroupv2`
//     compares against.
//   cgroupReadFile / cgroupWriteFile: one control file (net_cls.classid,
//     cgroup.procs) read or written whole.
// All open the directory and then the file through cgroupfs.h (O_NOFOLLOW,
// fstatfs, openat2 without links or mount crossings). They work on any hierarchy
// the caller names; which one to use is policy (JS).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../errors.h"
#include "cgroupfs.h"
#include "proc.h"

namespace netcg::proc {
namespace {

// PIDs are positive ints; the kernel reads "0" as "the writer itself" and
// refuses negatives, so neither is ever a meaningful request from JS.
constexpr double kMaxPid = 2147483647.0;

std::string pathArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) throw makeInputError(info.Env(), name, "must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.empty()) throw makeInputError(info.Env(), name, "must not be empty");
  if (s.find('\0') != std::string::npos) throw makeInputError(info.Env(), name, "must not contain NUL bytes");
  return s;
}

Napi::Object failure(Napi::Env env, double pid, int err) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", pid);
  o.Set("ok", false);
  o.Set("code", errnoName(err));
  o.Set("errno", err);
  return o;
}

// One write(2) of the decimal PID. Returns 0 or the errno.
int writePid(int fd, long pid) {
  // Digits right to left: all the formatting a PID needs, without a format string to parse.
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do *--p = static_cast<char>('0' + pid % 10);
  while ((pid /= 10) != 0);
  const ssize_t len = end - p;
  for (;;) {
    const ssize_t n = write(fd, p, static_cast<size_t>(len));
    if (n == len) return 0;
    if (n >= 0) return EIO;  // cgroup files take the whole buffer or fail; never seen
    if (errno != EINTR) return errno;
  }
}

class CgroupProcs : public Napi::ObjectWrap<CgroupProcs> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CgroupProcs",
                       {
                           InstanceMethod<&CgroupProcs::Enroll>("enroll"),
                           InstanceMethod<&CgroupProcs::WritePids>("writePids"),
                           InstanceMethod<&CgroupProcs::Close>("close"),
                           InstanceAccessor<&CgroupProcs::Path>("path"),
                       });
  }

  // new CgroupProcs(cgroupDir): opens <cgroupDir>/cgroup.procs for writing, once,
  // from the verified directory.
  explicit CgroupProcs(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CgroupProcs>(info) {
    Napi::Env env = info.Env();
    dir_ = pathArg(info, 0, "path");
    const Fd dir(openCgroupDir(env, dir_, nullptr));
    fd_ = openCgroupFile(dir.get(), "cgroup.procs", O_WRONLY);
    if (fd_ < 0) {
      const int err = errno;
      throw cgroupFileError(env, err, dir_, "cgroup.procs");
    }
  }

  ~CgroupProcs() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  // enroll(pids): one outcome per input element, in order. Type errors (not an
  // array, a non-integer element) throw before anything is written; a PID the
  // kernel or our range check refuses is just that PID's outcome.
  Napi::Value Enroll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) throw makeSysError(env, EBADF, "enroll", dir_ + ": closed");
    if (info.Length() < 1 || !info[0].IsArray())
      throw makeInputError(env, "pids", "must be an array of integers");
    Napi::Array pids = info[0].As<Napi::Array>();
    const uint32_t count = pids.Length();

    std::vector<double> values(count);
    for (uint32_t i = 0; i < count; ++i) {
      Napi::Value v = pids.Get(i);
      const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
      if (!std::isfinite(d) || std::floor(d) != d) {
        throw makeInputError(env, "pids[" + std::to_string(i) + "]", "must be an integer");
      }
      values[i] = d;
    }

    Napi::Array out = Napi::Array::New(env, count);
    for (uint32_t i = 0; i < count; ++i) {
      const double pid = values[i];
      const int err = (pid < 1 || pid > kMaxPid) ? EINVAL : writePid(fd_, static_cast<long>(pid));
      if (err != 0) {
        out.Set(i, failure(env, pid, err));
        continue;
      }
      Napi::Object ok = Napi::Object::New(env);
      ok.Set("pid", pid);
      ok.Set("ok", true);
      out.Set(i, ok);
    }
    return out;
  }

  // writePids(pids: Int32Array) -> Int32Array of errnos, same length and order:
  // 0 = moved, else the kernel's errno (EINVAL, not written, for pid <= 0).
  Napi::Value WritePids(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) throw makeSysError(env, EBADF, "writePids", dir_ + ": closed");
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw makeInputError(env, "pids", "must be an Int32Array");
    }
    Napi::Int32Array pids = info[0].As<Napi::Int32Array>();
    const size_t count = pids.ElementLength();
    Napi::Int32Array errnos = Napi::Int32Array::New(env, count);
    // Both views stay valid: nothing below runs JS or allocates on the JS heap.
    const int32_t* in = pids.Data();
    int32_t* out = errnos.Data();
    for (size_t i = 0; i < count; ++i) out[i] = in[i] < 1 ? EINVAL : writePid(fd_, in[i]);
    return errnos;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return info.Env().Undefined();
  }

  Napi::Value Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dir_); }

  std::string dir_;
  int fd_ = -1;
};

}  // namespace

Napi::Function DefineCgroupProcs(Napi::Env env) { return CgroupProcs::Define(env); }

// cgroupId(dir): like systemd and the kernel's own selftests, the ID is the
// kernfs file handle of the directory (8 bytes: the kernfs node id, which is
// also the inode number on cgroup2), taken from the verified directory fd with
// name_to_handle_at(fd, "", AT_EMPTY_PATH): the kernel's notion of the ID, not
// an inode number that merely coincides with it today.
Napi::Value CgroupId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = pathArg(info, 0, "path");
  // A v1 directory also has a kernfs handle, but no socket ever matches it.
  const Fd dir(openCgroupDir(env, path, nullptr, true));

  // struct file_handle ends in a flexible array: give it room for the 8-byte id.
  alignas(struct file_handle) unsigned char storage[sizeof(struct file_handle) + sizeof(uint64_t)] = {};
  auto* handle = reinterpret_cast<struct file_handle*>(storage);
  handle->handle_bytes = sizeof(uint64_t);
  int mountId = 0;
  if (name_to_handle_at(dir.get(), "", handle, &mountId, AT_EMPTY_PATH) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "name_to_handle_at", path);
  }
  if (handle->handle_bytes != sizeof(uint64_t)) throw makeSysError(env, EPROTO, "name_to_handle_at", path);
  uint64_t id = 0;
  std::memcpy(&id, handle->f_handle, sizeof id);
  return Napi::BigInt::New(env, id);
}

namespace {

// A control file's name: one path component, never "." or "..".
std::string fileNameArg(const Napi::CallbackInfo& info, size_t i) {
  std::string name = pathArg(info, i, "name");
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    throw makeInputError(info.Env(), "name", "must be a file name in the cgroup directory");
  return name;
}

}  // namespace

// cgroupReadFile(dir, name) -> the whole file as a string (read until EOF).
Napi::Value CgroupReadFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = pathArg(info, 0, "path");
  const std::string name = fileNameArg(info, 1);
  const Fd dir(openCgroupDir(env, path, nullptr));
  const Fd file(openCgroupFile(dir.get(), name.c_str(), O_RDONLY));
  if (file.get() < 0) {
    const int err = errno;
    throw cgroupFileError(env, err, path, name);
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(file.get(), buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    const int err = errno;
    throw makeSysError(env, err, "read", path + "/" + name);
  }
  return Napi::String::New(env, text);
}

// cgroupWriteFile(dir, name, text): one write(2) of `text` (cgroup files take a
// write whole or refuse it); never creates the file.
Napi::Value CgroupWriteFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = pathArg(info, 0, "path");
  const std::string name = fileNameArg(info, 1);
  if (info.Length() < 3 || !info[2].IsString()) throw makeInputError(env, "text", "must be a string");
  const std::string text = info[2].As<Napi::String>().Utf8Value();
  const Fd dir(openCgroupDir(env, path, nullptr));
  const Fd file(openCgroupFile(dir.get(), name.c_str(), O_WRONLY));
  if (file.get() < 0) {
    const int err = errno;
    throw cgroupFileError(env, err, path, name);
  }
  for (;;) {
    const ssize_t n = write(file.get(), text.data(), text.size());
    if (n == static_cast<ssize_t>(text.size())) break;
    if (n >= 0) throw makeSysError(env, EIO, "write", path + "/" + name + ": short write");
    if (errno == EINTR) continue;
    const int err = errno;
    throw makeSysError(env, err, "write", path + "/" + name);
  }
  return env.Undefined();
}

}  // namespace netcg::proc
