/*
 * bento-vmm: the per-VM monitor. One runs beside each QEMU VM, as qemu's parent, and outlives bentod.
 *
 *   bento-vmm DIR LOG_CAP_BYTES PRIMARY_SOCKET [EXTRA_SOCKET...]
 *             [--sidecar SOCKET ARGC ARG...]... -- QEMU_BINARY ARGS...
 *
 * It
 *  - takes an exclusive flock on DIR/vmm.lock and lets qemu inherit that open file, so the lock is
 *    held exactly while the monitor or its qemu lives: bentod proves "a qemu for this VM exists" by
 *    failing to take it, whatever state.json or the sockets say;
 *  - starts qemu (stdout/stderr to DIR/qemu.stderr), reaps it and records its exact exit status in
 *    DIR/exit.json (no zombie qemu, and "killed by a signal" is told apart from a crash);
 *  - owns the console: it connects to qemu's chardev sockets before the guest runs and writes every
 *    byte they carry to DIR/serial.log. QEMU's own chardev `logfile` duplicates and corrupts
 *    characters under load; the socket stream is clean, so this log is the source of truth;
 *  - runs the VM's sidecars (virtiofsd for each virtio-fs share) before qemu: each is started with
 *    its ARGC arguments, output to DIR/virtiofsd.log, and qemu starts only once every one listens on
 *    its SOCKET. They are its children too and inherit the lock, so the VM's processes live and die
 *    together: when qemu exits (or fails to start) they are stopped and reaped before exit.json is
 *    written and the lock is let go, and a stray one keeps the lock held;
 *  - marks each boot with a separator record in the log and an entry in DIR/log-index.json;
 *  - rotates the log while the VM runs (serial.log -> serial.log.1 at a line boundary, nothing lost
 *    or written twice);
 *  - serves DIR/vmm.sock (0600): bytes a client writes go to the guest's primary console, flow
 *    controlled (a client is not read while the chardev is full); each client gets a one-byte
 *    wake-up whenever the log grows, so bentod follows the log without polling.
 *
 * On start it prints one line to stdout: "ready QEMU_PID" once the consoles are connected (bentod
 * then sends QMP `cont`), or "error MESSAGE" and exits 1. Written in C so each VM costs well under a
 * megabyte of memory, as conmon and virtlogd do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONSOLES 4
#define MAX_CLIENTS 8
#define IO_CHUNK 65536
#define MAX_BOOTS 64
#define CONNECT_TIMEOUT_MS 60000
#define MAX_SIDECARS 8
#define SIDECAR_READY_MS 15000
#define SIDECAR_STOP_MS 3000

typedef struct {
  int fd;
  const char *path;
  int open;
} console_t;

typedef struct {
  int fd;
  /* bytes read from this client that the console has not taken yet */
  char buf[IO_CHUNK];
  size_t len, off;
} client_t;

typedef struct {
  long boot;
  char at[32];
  long generation;
  long long offset;
} boot_t;

static const char *dir;
static long long log_cap;
static int log_fd = -1;
static long long log_size;
static int log_ends_line = 1;
static long generation;
static boot_t boots[MAX_BOOTS];
static int nboots;
static console_t consoles[MAX_CONSOLES];
static int nconsoles;
static client_t clients[MAX_CLIENTS];
static int listen_fd = -1;
static int sig_pipe[2] = {-1, -1};
static pid_t qemu_pid;

typedef struct {
  const char *socket;
  char **argv; /* NULL-terminated copy */
  pid_t pid;   /* 0 once reaped */
  int status;
} sidecar_t;

static sidecar_t sidecars[MAX_SIDECARS];
static int nsidecars;

static void stop_sidecars(int grace_ms);

/* Linux has these in one call; elsewhere (macOS) two. */
static int set_cloexec_nonblock(int fd, int nonblock) {
  if (fd < 0) return fd;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (nonblock) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static int peer_uid(int fd, uid_t *uid) {
#ifdef __linux__
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  *uid = cred.uid;
  return 0;
#else
  gid_t gid;
  return getpeereid(fd, uid, &gid);
#endif
}

static const char *signal_name(int sig) {
  switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGPIPE: return "SIGPIPE";
    default: return "SIGNAL";
  }
}

static char *path_in(const char *name) {
  char *p;
  if (asprintf(&p, "%s/%s", dir, name) < 0) abort();
  return p;
}

static void fail(const char *fmt, ...) {
  va_list ap;
  char msg[512];
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Nothing this monitor started may outlive a failed start. */
  stop_sidecars(0);
  printf("error %s\n", msg);
  fflush(stdout);
  exit(1);
}

static void now_iso(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes a small file atomically: temp file, fsync, rename; mode 0600. */
static void write_atomic(const char *name, const char *text) {
  char *final = path_in(name);
  char *tmp;
  if (asprintf(&tmp, "%s.tmp-%d", final, (int)getpid()) < 0) abort();
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    int ok = write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, final) != 0) unlink(tmp);
  }
  free(tmp);
  free(final);
}

/* log-index.json: which generation serial.log is, and where each boot starts. */
static void write_index(void) {
  size_t cap = 256 + (size_t)nboots * 128;
  char *text = malloc(cap);
  if (!text) abort();
  int n = snprintf(text, cap, "{\"version\":1,\"generation\":%ld,\"boots\":[", generation);
  for (int i = 0; i < nboots; i++) {
    n += snprintf(text + n, cap - (size_t)n, "%s{\"boot\":%ld,\"at\":\"%s\",\"generation\":%ld,\"offset\":%lld}",
                  i ? "," : "", boots[i].boot, boots[i].at, boots[i].generation, boots[i].offset);
  }
  snprintf(text + n, cap - (size_t)n, "]}\n");
  write_atomic("log-index.json", text);
  free(text);
}

/* Reads the previous index, if any: a small, fixed shape written only by this program. */
static void read_index(void) {
  char *p = path_in("log-index.json");
  FILE *f = fopen(p, "re");
  free(p);
  if (!f) return;
  char text[65536];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  const char *g = strstr(text, "\"generation\":");
  if (g) generation = strtol(g + 13, NULL, 10);
  const char *cur = strstr(text, "\"boots\":[");
  while (cur && nboots < MAX_BOOTS) {
    cur = strstr(cur, "{\"boot\":");
    if (!cur) break;
    boot_t b;
    memset(&b, 0, sizeof b);
    if (sscanf(cur, "{\"boot\":%ld,\"at\":\"%31[^\"]\",\"generation\":%ld,\"offset\":%lld}", &b.boot, b.at, &b.generation, &b.offset) == 4) {
      boots[nboots++] = b;
    }
    cur++;
  }
}

static void open_log(void) {
  char *p = path_in("serial.log");
  /* O_NOFOLLOW: a symlink planted in the VM folder must never redirect guest output elsewhere. */
  log_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (log_fd < 0) fail("cannot open %s: %s", p, errno == ELOOP ? "it is a symlink" : strerror(errno));
  struct stat st;
  if (fstat(log_fd, &st) != 0 || !S_ISREG(st.st_mode)) fail("%s is not a regular file", p);
  log_size = st.st_size;
  log_ends_line = 1;
  if (log_size > 0) {
    int rfd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char last = '\n';
    if (rfd >= 0) {
      if (pread(rfd, &last, 1, log_size - 1) != 1) last = '\n';
      close(rfd);
    }
    log_ends_line = last == '\n';
  }
  free(p);
}

/* serial.log -> serial.log.1 (the one before is dropped); the next byte goes to a new serial.log. */
static void rotate_log(void) {
  char *cur = path_in("serial.log");
  char *old = path_in("serial.log.1");
  fsync(log_fd);
  if (rename(cur, old) != 0) {
    /* Keep writing the big file rather than lose output. */
    free(cur);
    free(old);
    return;
  }
  close(log_fd);
  free(cur);
  free(old);
  generation++;
  /* Boots two generations back are no longer on disk. */
  int keep = 0;
  for (int i = 0; i < nboots; i++) {
    if (boots[i].generation >= generation - 1) boots[keep++] = boots[i];
  }
  nboots = keep;
  open_log();
  write_index();
}

static void wake_clients(void) {
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i].fd < 0) continue;
    /* One byte, never queued: a client with a wake-up still unread needs no second one. */
    if (send(clients[i].fd, "w", 1, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      close(clients[i].fd);
      clients[i].fd = -1;
    }
  }
}

static void log_write_raw(const char *buf, size_t len) {
  if (len == 0) return;
  if (write_all(log_fd, buf, len) != 0) {
    /* A full disk: the guest keeps running; what cannot be kept is dropped, not queued. */
    return;
  }
  log_size += (long long)len;
  log_ends_line = buf[len - 1] == '\n';
}

/* Appends guest output, rotating at the first line end once the log is over its cap. */
static void log_append(const char *buf, size_t len) {
  while (len > 0) {
    if (log_size >= log_cap) {
      const char *nl = memchr(buf, '\n', len);
      if (nl) {
        size_t head = (size_t)(nl - buf) + 1;
        log_write_raw(buf, head);
        buf += head;
        len -= head;
        rotate_log();
        continue;
      }
      /* No line end in sight: do not let one endless line grow the log without bound. */
      if (log_size >= log_cap + IO_CHUNK * 16) {
        rotate_log();
        continue;
      }
    }
    log_write_raw(buf, len);
    break;
  }
}

static void boot_record(void) {
  long last = nboots ? boots[nboots - 1].boot : 0;
  if (nboots == MAX_BOOTS) {
    memmove(boots, boots + 1, sizeof(boot_t) * (MAX_BOOTS - 1));
    nboots--;
  }
  /* The previous boot may have ended mid-line: the separator always starts a line of its own. */
  if (!log_ends_line) log_write_raw("\r\n", 2);
  boot_t *b = &boots[nboots++];
  b->boot = last + 1;
  now_iso(b->at, sizeof b->at);
  b->generation = generation;
  b->offset = log_size;
  char line[160];
  int n = snprintf(line, sizeof line, "-- bento: boot %ld, %s --\r\n", b->boot, b->at);
  log_write_raw(line, (size_t)n);
  write_index();
}

static void write_exit(int status) {
  char at[32], text[256];
  now_iso(at, sizeof at);
  if (WIFSIGNALED(status)) {
    snprintf(text, sizeof text, "{\"pid\":%d,\"code\":null,\"signal\":\"%s\",\"at\":\"%s\"}\n", (int)qemu_pid, signal_name(WTERMSIG(status)), at);
  } else {
    snprintf(text, sizeof text, "{\"pid\":%d,\"code\":%d,\"signal\":null,\"at\":\"%s\"}\n", (int)qemu_pid, WEXITSTATUS(status), at);
  }
  write_atomic("exit.json", text);
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t r = write(sig_pipe[1], "c", 1);
  (void)r;
  errno = saved;
}

static int connect_unix(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sa.sun_path, path);
  int fd = set_cloexec_nonblock(socket(AF_UNIX, SOCK_STREAM, 0), 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void listen_clients(void) {
  char *p = path_in("vmm.sock");
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(p) >= sizeof sa.sun_path) fail("%s is longer than a socket path may be", p);
  strcpy(sa.sun_path, p);
  unlink(p);
  listen_fd = set_cloexec_nonblock(socket(AF_UNIX, SOCK_STREAM, 0), 1);
  mode_t old = umask(0177);
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(listen_fd, 4) != 0) {
    umask(old);
    fail("cannot listen on %s: %s", p, strerror(errno));
  }
  umask(old);
  free(p);
}

static void accept_client(void) {
  int fd = set_cloexec_nonblock(accept(listen_fd, NULL, NULL), 1);
  if (fd < 0) return;
  /* Only our own user: the socket is 0600 in a 0700 folder, and the peer uid is checked too. */
  uid_t uid;
  if (peer_uid(fd, &uid) != 0 || uid != geteuid()) {
    close(fd);
    return;
  }
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i].fd < 0) {
      clients[i].fd = fd;
      clients[i].len = clients[i].off = 0;
      return;
    }
  }
  close(fd);
}

static void close_client(client_t *c) {
  close(c->fd);
  c->fd = -1;
  c->len = c->off = 0;
}

/* Moves what a client sent to the primary console, as far as the console takes it now. */
static void flush_client(client_t *c) {
  console_t *con = &consoles[0];
  while (c->off < c->len && con->open) {
    ssize_t n = send(con->fd, c->buf + c->off, c->len - c->off, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) c->off = c->len; /* console gone: input is moot */
      break;
    }
    c->off += (size_t)n;
  }
  if (c->off == c->len) c->len = c->off = 0;
}

static int read_console(console_t *con) {
  char buf[IO_CHUNK];
  for (int rounds = 0; rounds < 16; rounds++) {
    ssize_t n = read(con->fd, buf, sizeof buf);
    if (n > 0) {
      log_append(buf, (size_t)n);
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    /* EOF or error: qemu closed the chardev (it is exiting) */
    close(con->fd);
    con->open = 0;
    return 1;
  }
  return 1;
}

/* Marks a reaped child: qemu (sets *exited) or a sidecar. */
static void note_child(pid_t p, int st, int *exited, int *status) {
  if (p == qemu_pid && qemu_pid > 0) {
    *exited = 1;
    *status = st;
  }
  for (int i = 0; i < nsidecars; i++) {
    if (sidecars[i].pid == p) {
      sidecars[i].pid = 0;
      sidecars[i].status = st;
    }
  }
}

static void reap(int *exited, int *status) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    note_child(p, st, exited, status);
  }
}

static long elapsed_ms(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* SIGTERM to every live sidecar, up to grace_ms for them to go, then SIGKILL; all are reaped. */
static void stop_sidecars(int grace_ms) {
  int live = 0;
  for (int i = 0; i < nsidecars; i++) {
    if (sidecars[i].pid > 0) {
      kill(sidecars[i].pid, grace_ms > 0 ? SIGTERM : SIGKILL);
      live++;
    }
  }
  if (!live) return;
  int dummy_exited = 0, dummy_status = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    live = 0;
    for (int i = 0; i < nsidecars; i++) {
      if (sidecars[i].pid <= 0) continue;
      int st;
      pid_t p = waitpid(sidecars[i].pid, &st, WNOHANG);
      if (p == sidecars[i].pid) note_child(p, st, &dummy_exited, &dummy_status);
      else if (p < 0 && errno == ECHILD) sidecars[i].pid = 0;
      else live++;
    }
    if (!live) return;
    if (elapsed_ms(&t0) >= grace_ms) {
      for (int i = 0; i < nsidecars; i++) {
        if (sidecars[i].pid <= 0) continue;
        kill(sidecars[i].pid, SIGKILL);
        int st;
        if (waitpid(sidecars[i].pid, &st, 0) == sidecars[i].pid) sidecars[i].pid = 0;
      }
      return;
    }
    usleep(10000);
  }
}

/*
 * Whether a Unix socket at this path is listening. Linux: /proc/net/unix (flag __SO_ACCEPTCON),
 * which connects to nothing (the C virtiofsd serves exactly one connection, so a probe would use it up).
 * Elsewhere the socket file's existence.
 */
static int socket_listening(const char *path) {
  FILE *f = fopen("/proc/net/unix", "re");
  if (!f) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
  }
  char line[4096 + 128];
  int found = 0;
  size_t plen = strlen(path);
  while (!found && fgets(line, sizeof line, f)) {
    /* "Num: RefCount Protocol Flags Type St Inode Path" */
    unsigned long flags = 0;
    char *sp = line;
    for (int field = 0; field < 3 && sp; field++) sp = strchr(sp + 1, ' ');
    if (!sp) continue;
    flags = strtoul(sp + 1, NULL, 16);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
    if (n >= plen && strcmp(line + n - plen, path) == 0 && line[n - plen - 1] == ' ' && (flags & 0x10000)) found = 1;
  }
  fclose(f);
  return found;
}

/* The last non-empty line of the sidecars' log, for an error message. */
static void sidecar_log_tail(char *out, size_t n) {
  out[0] = 0;
  char *p = path_in("virtiofsd.log");
  FILE *f = fopen(p, "re");
  free(p);
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (len) snprintf(out, n, "%s", line);
  }
  fclose(f);
}

/* Starts every sidecar and waits until each listens on its socket; fails (killing them) otherwise. */
static void start_sidecars(void) {
  if (!nsidecars) return;
  char *log_path = path_in("virtiofsd.log");
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot open %s: %s", log_path, strerror(errno));
  free(log_path);
  for (int i = 0; i < nsidecars; i++) {
    unlink(sidecars[i].socket);
    pid_t p = fork();
    if (p < 0) fail("fork: %s", strerror(errno));
    if (p == 0) {
      int nul = open("/dev/null", O_RDONLY);
      dup2(nul, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      signal(SIGPIPE, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      execvp(sidecars[i].argv[0], sidecars[i].argv);
      dprintf(2, "cannot run %s: %s\n", sidecars[i].argv[0], strerror(errno));
      _exit(127);
    }
    sidecars[i].pid = p;
  }
  close(fd);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int dummy_exited = 0, dummy_status = 0;
  for (int i = 0; i < nsidecars; i++) {
    while (!socket_listening(sidecars[i].socket)) {
      reap(&dummy_exited, &dummy_status);
      if (sidecars[i].pid == 0) {
        char tail[400];
        sidecar_log_tail(tail, sizeof tail);
        int st = sidecars[i].status;
        fail("%s exited before listening on %s (%s %d)%s%s", sidecars[i].argv[0], sidecars[i].socket,
             WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), tail[0] ? ": " : "", tail);
      }
      if (elapsed_ms(&t0) > SIDECAR_READY_MS) fail("%s did not listen on %s within %d s", sidecars[i].argv[0], sidecars[i].socket, SIDECAR_READY_MS / 1000);
      usleep(5000);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: bento-vmm DIR LOG_CAP PRIMARY_SOCKET [EXTRA_SOCKET...] [--sidecar SOCKET ARGC ARG...]... -- QEMU ARGS...\n");
    return 2;
  }
  dir = argv[1];
  log_cap = atoll(argv[2]);
  if (log_cap < 4096) log_cap = 4096;
  int i = 3;
  while (i < argc && strcmp(argv[i], "--") != 0 && strcmp(argv[i], "--sidecar") != 0) {
    if (nconsoles == MAX_CONSOLES) fail("bad arguments: at most %d console sockets", MAX_CONSOLES);
    consoles[nconsoles].path = argv[i];
    consoles[nconsoles].fd = -1;
    nconsoles++;
    i++;
  }
  while (i < argc && strcmp(argv[i], "--sidecar") == 0) {
    if (nsidecars == MAX_SIDECARS) fail("bad arguments: at most %d sidecars", MAX_SIDECARS);
    if (i + 3 >= argc) fail("bad arguments: --sidecar needs SOCKET ARGC ARG...");
    long n = strtol(argv[i + 2], NULL, 10);
    if (n < 1 || i + 3 + n > argc) fail("bad arguments: --sidecar %s has a bad argument count", argv[i + 1]);
    sidecar_t *sc = &sidecars[nsidecars++];
    sc->socket = argv[i + 1];
    sc->argv = calloc((size_t)n + 1, sizeof(char *));
    if (!sc->argv) abort();
    for (long k = 0; k < n; k++) sc->argv[k] = argv[i + 3 + k];
    i += 3 + (int)n;
  }
  int sep = i;
  if (nconsoles < 1 || sep >= argc || strcmp(argv[sep], "--") != 0 || sep + 1 >= argc) {
    fail("bad arguments: need 1-%d sockets, optional --sidecar groups, then -- and the qemu command", MAX_CONSOLES);
  }
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);

  char *lock_path = path_in("vmm.lock");
  int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600); /* inherited by qemu on purpose */
  if (lock_fd < 0) fail("cannot open %s: %s", lock_path, strerror(errno));
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) fail("another qemu for this VM is running (%s is held)", lock_path);
  if (ftruncate(lock_fd, 0) == 0) {
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (pwrite(lock_fd, pid, (size_t)n, 0) < 0) { /* the pid is informative only */ }
  }

  char *exit_path = path_in("exit.json");
  unlink(exit_path);
  free(exit_path);
  read_index();
  open_log();
  /* A log already over its cap starts this boot in a fresh file. */
  if (log_size >= log_cap) rotate_log();
  listen_clients();

  if (pipe(sig_pipe) != 0) fail("pipe: %s", strerror(errno));
  set_cloexec_nonblock(sig_pipe[0], 1);
  set_cloexec_nonblock(sig_pipe[1], 1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);

  char *err_path = path_in("qemu.stderr");
  int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (err_fd < 0) fail("cannot open %s: %s", err_path, strerror(errno));

  /* The virtiofsds listen before qemu starts: qemu connects to their sockets as it sets up devices. */
  start_sidecars();

  qemu_pid = fork();
  if (qemu_pid < 0) fail("fork: %s", strerror(errno));
  if (qemu_pid == 0) {
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    dup2(err_fd, 1);
    dup2(err_fd, 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execvp(argv[sep + 1], argv + sep + 1);
    dprintf(2, "cannot run %s: %s\n", argv[sep + 1], strerror(errno));
    _exit(127);
  }
  close(err_fd);

  /* Connect every console before the guest runs (qemu was started with -S): no byte is missed. */
  int exited = 0, status = 0;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < nconsoles; i++) {
    while ((consoles[i].fd = connect_unix(consoles[i].path)) < 0) {
      reap(&exited, &status);
      if (exited) {
        write_exit(status);
        fail("qemu exited before its console socket %s appeared", consoles[i].path);
      }
      clock_gettime(CLOCK_MONOTONIC, &t);
      if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > CONNECT_TIMEOUT_MS) {
        kill(qemu_pid, SIGKILL);
        fail("qemu did not open %s within %d s", consoles[i].path, CONNECT_TIMEOUT_MS / 1000);
      }
      usleep(5000);
    }
    consoles[i].open = 1;
  }
  boot_record();
  printf("ready %d\n", (int)qemu_pid);
  fflush(stdout);
  /* bentod stops reading once it has the line; nothing more goes there. */
  int nul = open("/dev/null", O_RDWR);
  dup2(nul, 0);
  dup2(nul, 1);
  dup2(nul, 2);
  close(nul);

  while (!exited) {
    struct pollfd pfd[1 + 1 + MAX_CONSOLES + MAX_CLIENTS];
    int kinds[1 + 1 + MAX_CONSOLES + MAX_CLIENTS];
    int idx[1 + 1 + MAX_CONSOLES + MAX_CLIENTS];
    int n = 0;
    int pending = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0 && clients[i].len > 0) pending = 1;
    pfd[n] = (struct pollfd){sig_pipe[0], POLLIN, 0}; kinds[n] = 0; idx[n++] = 0;
    pfd[n] = (struct pollfd){listen_fd, POLLIN, 0}; kinds[n] = 1; idx[n++] = 0;
    for (int i = 0; i < nconsoles; i++) {
      if (!consoles[i].open) continue;
      short ev = POLLIN;
      if (i == 0 && pending) ev |= POLLOUT;
      pfd[n] = (struct pollfd){consoles[i].fd, ev, 0}; kinds[n] = 2; idx[n++] = i;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
      /* Flow control: a client whose input is still waiting for the console is not read. */
      if (clients[i].fd < 0 || clients[i].len > 0) continue;
      pfd[n] = (struct pollfd){clients[i].fd, POLLIN, 0}; kinds[n] = 3; idx[n++] = i;
    }
    if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) break;
    int grew = 0;
    for (int k = 0; k < n; k++) {
      if (!pfd[k].revents) continue;
      switch (kinds[k]) {
        case 0: {
          char drain[64];
          while (read(sig_pipe[0], drain, sizeof drain) > 0) {}
          break;
        }
        case 1:
          accept_client();
          break;
        case 2: {
          console_t *con = &consoles[idx[k]];
          if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
            long long before = log_size;
            read_console(con);
            if (log_size != before) grew = 1;
          }
          if (idx[k] == 0 && (pfd[k].revents & POLLOUT)) {
            for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0 && clients[i].len > 0) flush_client(&clients[i]);
          }
          break;
        }
        case 3: {
          client_t *c = &clients[idx[k]];
          if (c->fd < 0) break;
          ssize_t r = read(c->fd, c->buf, sizeof c->buf);
          if (r > 0) {
            c->len = (size_t)r;
            c->off = 0;
            flush_client(c);
          } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            close_client(c);
          }
          break;
        }
      }
    }
    if (grew) wake_clients();
    reap(&exited, &status);
  }

  /* qemu is gone: keep whatever its consoles still held, then record how it ended. */
  for (int i = 0; i < nconsoles; i++) {
    if (!consoles[i].open) continue;
    fcntl(consoles[i].fd, F_SETFL, fcntl(consoles[i].fd, F_GETFL) & ~O_NONBLOCK);
    char buf[IO_CHUNK];
    ssize_t r;
    while ((r = read(consoles[i].fd, buf, sizeof buf)) > 0) log_append(buf, (size_t)r);
    close(consoles[i].fd);
  }
  fsync(log_fd);
  /* The sidecars go with their qemu (a virtiofsd normally ends by itself once qemu hangs up). */
  stop_sidecars(SIDECAR_STOP_MS);
  wake_clients();
  write_exit(status);
  char *sock = path_in("vmm.sock");
  unlink(sock);
  free(sock);
  return 0;
}
