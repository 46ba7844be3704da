/*
 * The per-packet probe: joins a net_cls cgroup (so its sockets carry that
 * classid), then sends COUNT small UDP datagrams over loopback to a socket of its
 * own that is never read (once its buffer is full the kernel drops them on input,
 * after the whole output path, which is what is being measured).
 * Prints "<packets sent> <nanoseconds>".  usage: sender TASKS_FILE COUNT
 * The cgroup is joined before any socket exists: the classid is taken at socket creation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "sender: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sender TASKS_FILE COUNT\n");
    return 2;
  }
  long count = atol(argv[2]);

  FILE *tasks = fopen(argv[1], "w");
  if (!tasks) return fail("open tasks file");
  if (fprintf(tasks, "%d\n", (int)getpid()) < 0 || fclose(tasks) != 0) return fail("join cgroup");

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int rx = socket(AF_INET, SOCK_DGRAM, 0);
  if (rx < 0 || bind(rx, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("bind receiver");
  if (getsockname(rx, (struct sockaddr *)&addr, &len) != 0) return fail("getsockname");
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  if (tx < 0 || connect(tx, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("connect sender");

  char payload[32] = "netcg bench";
  long sent = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < count; i++) {
    if (send(tx, payload, sizeof payload, 0) == (ssize_t)sizeof payload) sent++;
    else if (errno != ENOBUFS && errno != EAGAIN) return fail("send");
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("%ld %lld\n", sent, ns);
  return 0;
}
