// Verified cgroup directories and the files in them (see cgroupfs.h).
#include "cgroupfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "../errors.h"

namespace netcg::proc {

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

CgroupFs cgroupFsOf(Napi::Env env, int fd, const std::string& what) {
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "fstatfs", what);
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return CgroupFs::V2;
  if (fs.f_type == CGROUP_SUPER_MAGIC) return CgroupFs::V1;
  return CgroupFs::Other;
}

Napi::Error notCgroupError(Napi::Env env, const std::string& path, const char* expected) {
  return makeCodedError(env, "ENOTCGROUP", EMEDIUMTYPE, "cgroup",
                        path + ": not a " + expected + " directory (its filesystem is not " + expected + ")");
}

int openCgroupDir(Napi::Env env, const std::string& path, CgroupFs* fs, bool v2Only) {
  Fd dir(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) {
    const int err = errno;
    // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR (ELOOP without O_DIRECTORY): say which.
    struct stat st {};
    if ((err == ENOTDIR || err == ELOOP) && lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      throw makeSysError(env, ELOOP, "open",
                         path + " (a symbolic link; a cgroup directory is never opened through one)");
    throw makeSysError(env, err, "open", path);
  }
  const CgroupFs kind = cgroupFsOf(env, dir.get(), path);
  if (kind == CgroupFs::Other || (v2Only && kind != CgroupFs::V2))
    throw notCgroupError(env, path, v2Only ? "cgroup2" : "cgroup");
  if (fs != nullptr) *fs = kind;
  return dir.release();
}

int openCgroupFile(int dirFd, const char* name, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (;;) {
    const long fd = syscall(SYS_openat2, dirFd, name, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || errno == EAGAIN) continue;
    if (errno != ENOSYS) return -1;
    // Kernels before 5.6: the last component is still never followed.
    return openat(dirFd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  }
}

Napi::Error cgroupFileError(Napi::Env env, int err, const std::string& dir, const std::string& name) {
  std::string detail = dir + "/" + name;
  if (err == ELOOP) detail += " (a symbolic link in place of a cgroup file is refused)";
  if (err == EXDEV) detail += " (a mount in place of a cgroup file is refused)";
  return makeSysError(env, err, "open", detail);
}

}  // namespace netcg::proc
