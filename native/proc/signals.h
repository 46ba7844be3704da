// Signal dispositions before execve, shared by `exec` (netcg run) and the spawn child.
//
// execve itself resets caught signals to SIG_DFL but keeps SIG_IGN, so what a
// program would inherit from Node is the ignored ones (Node ignores SIGPIPE). Only
// those are reset, plus, where the caller asks, the caught ones: a forked child
// unblocks signals before execve, and a Node handler must not run in that copy of
// the process. Signals already at SIG_DFL are not touched (nor glibc's reserved
// realtime signals, whose sigaction fails). Async-signal-safe: sigaction only, and
// `save` must be too where it runs in a forked child.
#pragma once

#include <signal.h>

namespace netcg::proc {

inline bool isIgnored(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) == 0 && a.sa_handler == SIG_IGN;
}

inline bool isCaught(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) != 0 || (a.sa_handler != SIG_IGN && a.sa_handler != SIG_DFL);
}

// Sets to SIG_DFL every ignored signal (and every caught one if `caughtToo`), calling
// save(sig, previous) for each one changed.
template <typename Save>
void resetDispositionsForExec(bool caughtToo, Save save) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (!isIgnored(old) && !(caughtToo && isCaught(old))) continue;
    if (sigaction(sig, &dfl, nullptr) == 0) save(sig, old);
  }
}

}  // namespace netcg::proc
