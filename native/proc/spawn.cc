// spawnInCgroup(opts): start a program that is a member of a cgroup before its
// first instruction, so nothing it does (above all: no socket it creates) ever
// happens outside the cgroup. Two ways, same guarantee:
//   clone3 + CLONE_INTO_CGROUP (cgroup2): the kernel creates the child inside.
//   fork, the child writes itself into the cgroup (v1: `tasks`, see spawn(); v2:
//   cgroup.procs), then execs (v1 net_cls, or when clone3 is unavailable).
// Between clone/fork and exec the child runs only async-signal-safe code on
// data prepared by the parent: no allocation, no locks, no JS.
// Also pipe(): the stdio plumbing a ChildProcess-like wrapper needs, which Node
// cannot create from JS.
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../errors.h"
#include "../js.h"
#include "cgroupfs.h"
#include "cstrings.h"
#include "proc.h"
#include "signals.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char** environ;

namespace netcg::proc {
namespace {

enum class Method { Auto, Clone3, Fork };

// What the child reports through the error pipe when it cannot exec.
enum Stage : int32_t { kStageStdio = 1, kStageCgroup, kStageCwd, kStageExec };
struct ChildFailure {
  int32_t stage;
  int32_t errnum;
};

const char* stageName(int32_t stage) {
  switch (stage) {
    case kStageStdio:
      return "set up stdio";
    case kStageCgroup:
      return "join cgroup";
    case kStageCwd:
      return "chdir";
    default:
      return "exec";
  }
}

// Everything the child needs, built before forking.
struct Plan {
  std::string file;
  std::vector<std::string> candidates;  // execve targets, in PATH order
  std::vector<std::string> argv, envp;
  std::vector<char*> argvPtrs, envPtrs;  // null-terminated; envPtrs empty = inherit
  std::string cwd;
  bool hasCwd = false;
  int stdio[3] = {-1, -1, -1};
  int procsFd = -1;  // fork way: tasks / cgroup.procs to write "0" (= the writer) into
  int errWrite = -1;
  int fdLimit = 65536;  // RLIMIT_NOFILE's soft limit, read before fork (see childMain)
};

// Async-signal-safe from here to execve: raw syscalls and plain loops only.
[[noreturn]] void childFail(const Plan& p, int32_t stage, int err) {
  const ChildFailure f{stage, err};
  ssize_t n;
  do n = write(p.errWrite, &f, sizeof f);
  while (n < 0 && errno == EINTR);
  _exit(127);
}

[[noreturn]] void childMain(const Plan& p) {
  // Inherited with every signal blocked (see spawn()), so no Node handler can
  // run here; put the ignored and the caught dispositions back to the default
  // before unblocking (the caught ones too: a handler must not run in this copy).
  resetDispositionsForExec(true, [](int, const struct sigaction&) {});

  // Writing "0" moves the writer itself (v1 and v2 alike): no getpid needed.
  if (p.procsFd >= 0) {
    ssize_t n;
    do n = write(p.procsFd, "0", 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) childFail(p, kStageCgroup, n < 0 ? errno : EIO);
  }

  // Two steps so that stdio = [1, 0, 2] style permutations work: first copy
  // every source above 2 (close-on-exec), then dup2 the copies into 0..2.
  int tmp[3];
  for (int i = 0; i < 3; ++i) {
    tmp[i] = fcntl(p.stdio[i], F_DUPFD_CLOEXEC, 3);
    if (tmp[i] < 0) childFail(p, kStageStdio, errno);
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(tmp[i], i) < 0) childFail(p, kStageStdio, errno);
    // Pipes and ttys shared with Node are O_NONBLOCK; ordinary programs expect blocking.
    const int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(i, F_SETFL, fl & ~O_NONBLOCK);
  }
  // Only stdio survives exec, whatever the rest of the process left inheritable.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    // Kernels before 5.11: every fd the process may hold is below its soft limit.
    for (int fd = 3; fd < p.fdLimit; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  if (p.hasCwd && chdir(p.cwd.c_str()) != 0) childFail(p, kStageCwd, errno);

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  char* const* envp = p.envPtrs.empty() ? environ : p.envPtrs.data();
  int err = ENOENT;
  for (const std::string& c : p.candidates) {
    execve(c.c_str(), p.argvPtrs.data(), envp);
    // Like execvp: keep searching past missing entries, remember EACCES.
    if (errno == EACCES)
      err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) {
      err = errno;
      break;
    }
  }
  childFail(p, kStageExec, err);
}

// ---- parent side ----------------------------------------------------------

std::vector<std::string> execCandidates(const std::string& file, const std::string& path) {
  if (file.find('/') != std::string::npos) return {file};
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    out.push_back(dir + "/" + file);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string noNul(const std::string& s, const std::string& where) {
  if (s.find('\0') != std::string::npos) throw InputError{where, "must not contain NUL bytes"};
  return s;
}

int fdField(const Napi::Value& v, const std::string& where) {
  if (!v.IsNumber()) throw InputError{where, "expected a file descriptor number"};
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 2147483647.0 || d != static_cast<double>(static_cast<int>(d))) {
    throw InputError{where, "expected a file descriptor number"};
  }
  return static_cast<int>(d);
}

struct Request {
  Plan plan;
  std::string cgroupPath;
  int cgroupFd = -1;  // caller's, not ours to close
  Method method = Method::Auto;
};

Request parse(const Napi::Object& o) {
  Request r;
  Plan& p = r.plan;
  p.file = noNul(getString(o, "file", "opts"), "opts.file");
  if (p.file.empty()) throw InputError{"opts.file", "must not be empty"};

  if (auto argv = o.Get("argv"); !argv.IsUndefined() && !argv.IsNull()) {
    Napi::Array a = getArray(o, "argv", "opts");
    for (uint32_t i = 0; i < a.Length(); ++i) {
      const std::string where = "opts.argv[" + std::to_string(i) + "]";
      Napi::Value v = a.Get(i);
      if (!v.IsString()) throw InputError{where, "expected a string"};
      p.argv.push_back(noNul(v.As<Napi::String>().Utf8Value(), where));
    }
  }
  if (p.argv.empty()) p.argv.push_back(p.file);
  if (struct rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    p.fdLimit = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 30));
  }

  std::string searchPath;
  bool envHasPath = false;
  if (auto envObj = getOptObject(o, "env", "opts")) {
    Napi::Array keys = envObj->GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      const std::string where = "opts.env." + key;
      if (key.empty() || key.find('=') != std::string::npos)
        throw InputError{where, "is not a valid variable name"};
      const std::string value = noNul(getString(*envObj, key.c_str(), "opts.env"), where);
      if (key == "PATH") {
        searchPath = value;
        envHasPath = true;
      }
      p.envp.push_back(noNul(key, where) + "=" + value);
    }
    p.envPtrs = cPointers(p.envp);
  }
  // As child_process does: the PATH the child will have decides the search.
  if (!envHasPath) {
    const char* own = p.envPtrs.empty() ? getenv("PATH") : nullptr;
    searchPath = own != nullptr ? own : "/usr/local/bin:/usr/bin:/bin";
  }
  p.candidates = execCandidates(p.file, searchPath);
  p.argvPtrs = cPointers(p.argv);

  if (auto cwd = getOptString(o, "cwd", "opts")) {
    p.cwd = noNul(*cwd, "opts.cwd");
    p.hasCwd = true;
  }

  Napi::Array stdio = getArray(o, "stdio", "opts");
  if (stdio.Length() != 3)
    throw InputError{"opts.stdio", "expected [stdin, stdout, stderr] file descriptors"};
  for (uint32_t i = 0; i < 3; ++i)
    p.stdio[i] = fdField(stdio.Get(i), "opts.stdio[" + std::to_string(i) + "]");

  auto cgroupPath = getOptString(o, "cgroup", "opts");
  Napi::Value cgroupFd = o.Get("cgroupFd");
  const bool hasFd = !cgroupFd.IsUndefined() && !cgroupFd.IsNull();
  if (cgroupPath && hasFd) throw InputError{"opts.cgroupFd", "give either cgroup or cgroupFd, not both"};
  if (cgroupPath) r.cgroupPath = noNul(*cgroupPath, "opts.cgroup");
  if (hasFd) r.cgroupFd = fdField(cgroupFd, "opts.cgroupFd");

  const std::string method = getOptString(o, "method", "opts").value_or("auto");
  if (method == "clone3")
    r.method = Method::Clone3;
  else if (method == "fork")
    r.method = Method::Fork;
  else if (method != "auto")
    throw InputError{"opts.method", "expected 'auto', 'clone3' or 'fork'"};
  return r;
}

// Closes the fds the parent opened for one spawn, whatever happens.
struct ParentFds {
  int dir = -1, procs = -1, errRead = -1, errWrite = -1;
  ~ParentFds() {
    for (int fd : {dir, procs, errRead, errWrite}) {
      if (fd >= 0) close(fd);
    }
  }
};

// clone3 as fork (no CLONE_VM, no new stack): the child returns here on a copy
// of our stack. The kernel creates it inside the cgroup and hands us a pidfd.
pid_t clone3IntoCgroup(int cgroupFd, int* pidfd) {
  struct clone_args args {};
  args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroupFd);
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof args));
}

[[noreturn]] void throwChildFailure(Napi::Env env, const ChildFailure& f, const Plan& p) {
  throw makeSysError(env, f.errnum, "spawn", std::string(stageName(f.stage)) + " " + p.file);
}

// The cgroup the child joins, opened and checked; which hierarchy it is decides the
// way in (only cgroup2 supports CLONE_INTO_CGROUP).
struct CgroupTarget {
  bool present = false;
  int dirFd = -1;
  bool v2 = false;
  std::string path;  // for messages
};

CgroupTarget openCgroup(Napi::Env env, const Request& req, ParentFds& fds) {
  CgroupTarget t;
  t.present = req.cgroupFd >= 0 || !req.cgroupPath.empty();
  t.dirFd = req.cgroupFd;
  t.path = req.cgroupPath.empty() ? "opts.cgroupFd" : req.cgroupPath;
  CgroupFs kind = CgroupFs::Other;
  if (!req.cgroupPath.empty()) {
    fds.dir = t.dirFd = openCgroupDir(env, req.cgroupPath, &kind);
  } else if (t.present) {
    kind = cgroupFsOf(env, t.dirFd, "opts.cgroupFd");
    if (kind == CgroupFs::Other) throw notCgroupError(env, "opts.cgroupFd", "cgroup");
  } else if (req.method == Method::Clone3) {
    throw makeInputError(env, "opts.method", "clone3 needs a cgroup");
  }
  t.v2 = kind == CgroupFs::V2;
  if (req.method == Method::Clone3 && !t.v2)
    throw makeInputError(env, "opts.method", "clone3 needs a cgroup2 directory");
  return t;
}

// The pipe the child reports a failed exec through (its write end is close-on-exec).
void openErrorPipe(Napi::Env env, Plan& p, ParentFds& fds) {
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "pipe2", "spawn error pipe");
  }
  fds.errRead = pipeFds[0];
  fds.errWrite = p.errWrite = pipeFds[1];
}

// Every signal blocked across the fork, so the child starts with no Node handler
// able to run (the child resets dispositions, then unblocks); the parent's mask is
// restored when this goes out of scope, exceptions included.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

// The fork way: the file the child writes "0" into to join the cgroup.
void openProcsFile(Napi::Env env, const CgroupTarget& t, Plan& p, ParentFds& fds) {
  // v1: "0" into `tasks` moves just the writing thread, which in a fresh
  // fork child is the whole process (fork copies only the calling thread).
  // For that case the kernel skips the global threadgroup rwsem, which a
  // cgroup.procs write takes for writing and which then can wait for an
  // RCU grace period: milliseconds, measured in about one spawn in ten.
  // cgroup2 has no `tasks` (and cgroup.threads only in threaded mode); a
  // v1 cgroup whose `tasks` we may not write still has cgroup.procs.
  const char* file = t.v2 ? "cgroup.procs" : "tasks";
  fds.procs = p.procsFd = openCgroupFile(t.dirFd, file, O_WRONLY);
  if (p.procsFd < 0 && !t.v2 && errno != ELOOP && errno != EXDEV)
    fds.procs = p.procsFd = openCgroupFile(t.dirFd, file = "cgroup.procs", O_WRONLY);
  if (p.procsFd < 0) {
    const int err = errno;
    throw cgroupFileError(env, err, t.path, file);
  }
}

struct Started {
  pid_t pid = -1;
  int pidfd = -1;
  bool viaClone3 = false;
};

// clone3 into the cgroup where it can, else fork (the child joins, then execs).
Started startChild(Napi::Env env, Request& req, const CgroupTarget& t, ParentFds& fds) {
  Plan& p = req.plan;
  Started s;
  int forkErr = 0;
  {
    AllSignalsBlocked blocked;
    if (t.present && t.v2 && req.method != Method::Fork) {
      s.pid = clone3IntoCgroup(t.dirFd, &s.pidfd);
      if (s.pid == 0) childMain(p);
      if (s.pid > 0)
        s.viaClone3 = true;
      else
        forkErr = errno;
      // Kernels without clone3 (or CLONE_INTO_CGROUP) fall back to the fork way.
      const bool unsupported = forkErr == ENOSYS || forkErr == E2BIG;
      if (s.pid < 0 && (req.method == Method::Clone3 || !unsupported))
        throw makeSysError(env, forkErr, "clone3", "CLONE_INTO_CGROUP " + p.file);
    }
    if (!s.viaClone3) {
      if (t.present) openProcsFile(env, t, p, fds);
      s.pid = fork();
      if (s.pid == 0) childMain(p);
      forkErr = errno;
    }
  }
  if (s.pid < 0) throw makeSysError(env, forkErr, "fork", p.file);
  return s;
}

void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Waits until the child has exec'd (EOF on the error pipe: the write end was
// close-on-exec) or reports why it could not; makes sure there is a pidfd.
void awaitExec(Napi::Env env, Started& s, const Plan& p, ParentFds& fds) {
  // The child is ours until we reap it (Node's libuv only reaps its own PIDs),
  // so the PID cannot be reused before pidfd_open: this pidfd is the child's.
  if (!s.viaClone3) s.pidfd = static_cast<int>(syscall(SYS_pidfd_open, s.pid, 0));
  const int pidfdErr = errno;

  close(fds.errWrite);
  fds.errWrite = -1;
  ChildFailure failure{};
  ssize_t n;
  do n = read(fds.errRead, &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    reap(s.pid);
    if (s.pidfd >= 0) close(s.pidfd);
    throwChildFailure(env, failure, p);
  }
  if (s.pidfd < 0) {
    // Running, but we could not get a handle to wait on it: kill and reap.
    kill(s.pid, SIGKILL);
    reap(s.pid);
    throw makeSysError(env, pidfdErr, "pidfd_open", p.file);
  }
}

}  // namespace

Napi::Value SpawnInCgroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw makeInputError(env, "opts", "expected an object");
  Request req;
  try {
    req = parse(info[0].As<Napi::Object>());
  } catch (const InputError& e) {
    throw makeInputError(env, e.path, e.what);
  }
  ParentFds fds;
  const CgroupTarget target = openCgroup(env, req, fds);
  openErrorPipe(env, req.plan, fds);
  Started child = startChild(env, req, target, fds);
  awaitExec(env, child, req.plan, fds);

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", child.pid);
  out.Set("pidfd", child.pidfd);
  out.Set("method", child.viaClone3 ? "clone3" : "fork");
  return out;
}

// pipe(): [readFd, writeFd], both close-on-exec (spawnInCgroup's stdio dup
// makes the child's copies inheritable). Wrap the parent's end in a
// net.Socket({ fd }) and close the child's end once spawnInCgroup returned.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "pipe2", "");
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

}  // namespace netcg::proc
