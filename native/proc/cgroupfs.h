// Opening cgroup files without trusting the path: the directory is opened with
// O_DIRECTORY|O_NOFOLLOW and checked with fstatfs (a cgroup v1 or cgroup2
// filesystem, else ENOTCGROUP), and every file in it is opened relative to that
// fd with openat2 (no symlink, no mount crossing, nothing outside the
// directory). Used by CgroupProcs, cgroupId, cgroupReadFile/cgroupWriteFile and
// spawnInCgroup; which cgroup to touch is the caller's (JS) decision.
#pragma once

#include <napi.h>

#include <string>

namespace netcg::proc {

// Owns one fd; closes it when it goes out of scope (exceptions included).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Hands the fd over: the caller closes it.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

enum class CgroupFs { Other, V1, V2 };

// Which cgroup filesystem the open fd is on (fstatfs). Throws the errno on failure.
CgroupFs cgroupFsOf(Napi::Env env, int fd, const std::string& what);

// Opens `path` as a cgroup directory (O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)
// and checks its filesystem. Throws ENOTCGROUP when it is not a cgroup (or,
// with v2Only, not a cgroup2) directory; `*fs` tells which hierarchy it is.
int openCgroupDir(Napi::Env env, const std::string& path, CgroupFs* fs, bool v2Only = false);

// Opens the file `name` in a verified cgroup directory: openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV
// and O_NOFOLLOW | O_CLOEXEC (plain openat with O_NOFOLLOW where openat2 is
// missing). Returns the fd, or -1 with errno set (ELOOP: a symlink; EXDEV: a mount
// in place of the file). Never throws, so callers may try another name.
int openCgroupFile(int dirFd, const char* name, int flags);

// The error for a failed openCgroupFile: names "<dir>/<name>" and, for ELOOP and
// EXDEV, says that a link or mount in place of a cgroup file is refused.
Napi::Error cgroupFileError(Napi::Env env, int err, const std::string& dir, const std::string& name);

// The error for a directory that is not on a cgroup filesystem: code ENOTCGROUP.
Napi::Error notCgroupError(Napi::Env env, const std::string& path, const char* expected);

}  // namespace netcg::proc
