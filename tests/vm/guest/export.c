// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest side of vm-guest-export: `vcma-guest export` hands a dma-buf of a
 * grant to a program. --exec runs this program again as "export-peer",
 * which finds the fd in $VCMA_DMABUF_FD, maps it and checks the pattern
 * the scenario wrote through /dev/vcma's own mapping of the grant, then
 * writes another that the scenario reads back the same way. --socket
 * sends the fd to a unix socket this program listens on (stream and
 * seqpacket). Around them: status shows who exported what, a second
 * export is refused, a label picks the grant not yet exported, and every
 * error leaves the grants as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "claims.h"
#include "scenarios.h"
#include "vmtest.h"

#define VCMA_GUEST	"vcma-guest"
#define SOCK_PATH	"/tmp/vcma-export.sock"
#define OUT_PATH	"/tmp/vcma-export.out"	/* stdout of export --socket */
#define GRANT_SIZE	(4 * MiB)
#define SEED_DEV	0x5eed0001u	/* written through /dev/vcma */
#define SEED_PEER	0x5eed0002u	/* written through the dma-buf */

static int64_t exported(uint64_t id)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/exported", id);
	return sysfs_num(path);
}

/* A program's exit status (-1 if it died), its output in out. */
static int run_cmd(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run_cmd(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	size_t got = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		tap_bail("popen %s: %s", cmd, strerror(errno));
	while (got + 1 < len && fgets(out + got, (int)(len - got), p))
		got += strlen(out + got);
	out[got] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void *map_dev(int fd, uint64_t id, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)(id * (uint64_t)getpagesize()));

	if (p == MAP_FAILED)
		tap_bail("mmap grant %" PRIu64 ": %s", id, strerror(errno));
	return p;
}

static int listen_on(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type != SOCK_DGRAM && listen(s, 4)))
		tap_bail("listen on %s: %s", path, strerror(errno));
	return s;
}

/* Accept one connection and take the fd and line it carries; fd or -errno. */
static int receive_fd(int ls, char *line, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = line, .iov_len = len - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	socklen_t tl = sizeof(int);
	int s, fd = -EBADMSG, type = 0;

	if (getsockopt(ls, SOL_SOCKET, SO_TYPE, &type, &tl))
		return -errno;
	/* A datagram receiver has no connection to accept. */
	s = type == SOCK_DGRAM ? dup(ls) : accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return -errno;
	n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0) {
		fd = -errno;
		n = 0;
	}
	line[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(s);
	return fd;
}

/* vcma-guest export ARGS --socket PATH in the background; its pid. */
static pid_t export_to_socket(const char *target, const char *path)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		int out = open(OUT_PATH, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (out < 0 || dup2(out, STDOUT_FILENO) < 0)
			_exit(126);
		execlp(VCMA_GUEST, VCMA_GUEST, "export", target, "--socket", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The line vcma-guest sends: every field matches the grant. */
static bool line_matches(const char *line, const struct vcma_ioc_reserve *r, const char *label)
{
	char want[160];

	snprintf(want, sizeof(want), "vcma-dmabuf id=%" PRIu64 " size=%" PRIu64 " gpa=0x%" PRIx64
		 " label=%s\n", (uint64_t)r->grant_id, (uint64_t)r->granted_size,
		 (uint64_t)r->phys_addr, label);
	return !strcmp(line, want);
}

/* The received fd is the grant: its contents are what /dev/vcma shows. */
static bool fd_holds(int dfd, size_t size, uint64_t seed)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, dfd, 0);
	bool ok;

	if (p == MAP_FAILED)
		return false;
	ok = check_pattern(p, size, seed);
	munmap(p, size);
	return ok;
}

static void socket_checks(int fd, const struct vcma_ioc_reserve *a,
			  const struct vcma_ioc_reserve *b, const struct vcma_ioc_reserve *c)
{
	char line[256], out[4096], target[32], want[96];
	int ls, dfa, dfb, dfc, rc;
	pid_t pid;

	ls = listen_on(SOCK_PATH, SOCK_STREAM);
	snprintf(target, sizeof(target), "%" PRIu64, (uint64_t)a->grant_id);
	pid = export_to_socket(target, SOCK_PATH);
	dfa = receive_fd(ls, line, sizeof(line));
	rc = wait_exit(pid);
	tap_ok(dfa >= 0 && rc == 0, "--socket (stream): the listener received an fd (%s), "
	       "vcma-guest exited %d", dfa < 0 ? strerror(-dfa) : "ok", rc);
	if (dfa < 0)
		tap_bail("no fd over the socket");
	tap_ok(line_matches(line, a, "exp0"), "the message names the grant: %.*s",
	       (int)strcspn(line, "\n"), line);
	snprintf(want, sizeof(want), "grant %" PRIu64 " (4 MiB, exp0): dma-buf sent to "
		 SOCK_PATH "\n", (uint64_t)a->grant_id);
	tap_ok(!read_text(OUT_PATH, out, sizeof(out)) && !strcmp(out, want),
	       "vcma-guest says so: %.*s", (int)strcspn(out, "\n"), out);
	tap_ok(fd_holds(dfa, a->granted_size, SEED_PEER),
	       "the received dma-buf holds what the --exec program wrote");
	tap_ok(exported(a->grant_id) == 1, "sysfs exported is 1 while the receiver holds it");

	rc = run_cmd(out, sizeof(out), VCMA_GUEST " status --json");
	snprintf(want, sizeof(want), "\"holder\":\"dma-buf:vcma-guest[%d]\"", (int)pid);
	{
		/* The JSON is pretty-printed: compare without blanks. */
		char flat[4096];
		size_t i, j = 0;

		for (i = 0; out[i] && j + 1 < sizeof(flat); i++)
			if (out[i] != ' ' && out[i] != '\n')
				flat[j++] = out[i];
		flat[j] = '\0';
		tap_ok(rc == 0 && strstr(flat, want) && strstr(flat, "\"exported\":true") &&
		       strstr(flat, "\"exported\":false"),
		       "status --json: the grant is exported, by %s; the others are not",
		       want);
	}
	rc = run_cmd(out, sizeof(out), VCMA_GUEST " status");
	snprintf(want, sizeof(want), "held by dma-buf:vcma-guest[%d] (exported)\n", (int)pid);
	tap_ok(rc == 0 && strstr(out, want), "status says \"%.*s\"", (int)strcspn(want, "\n"),
	       want);

	rc = run_cmd(out, sizeof(out), VCMA_GUEST " export %" PRIu64 " --socket " SOCK_PATH " 2>&1",
		     (uint64_t)a->grant_id);
	tap_ok(rc == 1 && strstr(out, "already exported"),
	       "a second export of the grant: exit %d, \"%.*s\"", rc, (int)strcspn(out, "\n"), out);

	/* By label: the grant of that label not exported yet. */
	pid = export_to_socket("exp0", SOCK_PATH);
	dfb = receive_fd(ls, line, sizeof(line));
	rc = wait_exit(pid);
	tap_ok(dfb >= 0 && rc == 0 && line_matches(line, b, "exp0"),
	       "export by label exp0 picks the other exp0 grant (%" PRIu64 "): %.*s",
	       (uint64_t)b->grant_id, (int)strcspn(line, "\n"), line);
	rc = run_cmd(out, sizeof(out), VCMA_GUEST " export exp0 --socket " SOCK_PATH " 2>&1");
	tap_ok(rc == 1 && strstr(out, "every grant labelled 'exp0' is already exported"),
	       "with both exported: exit %d, \"%.*s\"", rc, (int)strcspn(out, "\n"), out);
	close(ls);

	/* A seqpacket listener gets it too. */
	ls = listen_on(SOCK_PATH, SOCK_SEQPACKET);
	pid = export_to_socket("bystander", SOCK_PATH);
	dfc = receive_fd(ls, line, sizeof(line));
	rc = wait_exit(pid);
	tap_ok(dfc >= 0 && rc == 0 && line_matches(line, c, "bystander"),
	       "--socket (seqpacket): fd and message received (exit %d)", rc);
	close(ls);
	if (dfc >= 0)
		close(dfc);

	/* And a datagram socket bound there. */
	ls = listen_on(SOCK_PATH, SOCK_DGRAM);
	pid = export_to_socket("bystander", SOCK_PATH);
	dfc = receive_fd(ls, line, sizeof(line));
	rc = wait_exit(pid);
	tap_ok(dfc >= 0 && rc == 0 && line_matches(line, c, "bystander") &&
	       fd_holds(dfc, c->granted_size, SEED_DEV),
	       "--socket (datagram): fd and message received, the fd maps the grant (exit %d)", rc);
	close(ls);
	unlink(SOCK_PATH);

	tap_ok(vcma_release(fd, a->grant_id) == -EBUSY && vcma_release(fd, b->grant_id) == -EBUSY,
	       "grants whose dma-buf the receiver holds are not released");
	close(dfa);
	close(dfb);
	if (dfc >= 0)
		close(dfc);
	tap_ok(exported(a->grant_id) == 0 && exported(b->grant_id) == 0 &&
	       exported(c->grant_id) == 0, "closing the received fds ends the exports");
}

static void error_checks(const struct vcma_ioc_reserve *a)
{
	static const struct {
		const char *args;
		int rc;
		const char *msg;
	} bad[] = {
		{ "export 999 --exec true", 1, "no grant with id or label '999'" },
		{ "export nosuch --socket " SOCK_PATH, 1, "no grant with id or label 'nosuch'" },
		{ "export exp0 --socket /tmp/nobody-listens", 1,
		  "cannot connect to /tmp/nobody-listens" },
		{ "export exp0 --exec /bin/no-such-program", 127,
		  "cannot run '/bin/no-such-program'" },
		{ "export exp0", 2, "one of --exec PROG" },
		{ "export --exec true", 2, "one of --exec PROG" },
		{ "export exp0 --socket /tmp/x --exec true", 2, "exclude each other" },
		{ "export exp0 --bogus --exec true", 2, "bad option" },
		{ "export abcdefghijklmnopqrstuvwxyz0123456 --exec true", 2,
		  "neither a grant id nor a label" },
	};
	char out[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = run_cmd(out, sizeof(out), VCMA_GUEST " %s 2>&1", bad[i].args);
		tap_ok(rc == bad[i].rc && strstr(out, bad[i].msg),
		       "vcma-guest %s: exit %d (want %d), \"%.*s\"", bad[i].args, rc, bad[i].rc,
		       (int)strcspn(out, "\n"), out);
	}
	tap_ok(exported(a->grant_id) == 0 && sysfs_num("nr_grants") == 3,
	       "no failed export left a dma-buf behind or touched a grant");
}

int scenario_export(int argc, char **argv)
{
	struct vcma_ioc_reserve a, b, c;
	char out[1024];
	uint8_t *p;
	int fd, rc;

	(void)argc;
	(void)argv;
	rc = vcma_load("");
	if (rc)
		tap_bail("insmod vcma.ko: %s", strerror(-rc));
	fd = vcma_open();
	if (vcma_reserve(fd, GRANT_SIZE, 0, 0, 0, "exp0", &a) ||
	    vcma_reserve(fd, GRANT_SIZE, 0, 0, 0, "exp0", &b) ||
	    vcma_reserve(fd, 2 * MiB, 0, 0, 0, "bystander", &c))
		tap_bail("three grants: %s", strerror(errno));
	p = map_dev(fd, a.grant_id, GRANT_SIZE);
	fill_pattern(p, GRANT_SIZE, SEED_DEV);
	munmap(p, GRANT_SIZE);
	p = map_dev(fd, c.grant_id, 2 * MiB);
	fill_pattern(p, 2 * MiB, SEED_DEV);
	munmap(p, 2 * MiB);

	tap_ok(exported(a.grant_id) == 0, "sysfs grants/%" PRIu64 "/exported is 0 before",
	       (uint64_t)a.grant_id);
	rc = run_cmd(out, sizeof(out), VCMA_GUEST " export %" PRIu64 " --exec vcma-vmtest "
		     "export-peer %u %u", (uint64_t)a.grant_id, SEED_DEV, SEED_PEER);
	fputs(out, stdout);
	tap_ok(rc == 0, "--exec: the program got the dma-buf and every check of it passed "
	       "(exit %d)", rc);
	tap_ok(exported(a.grant_id) == 0, "the export ended with the program");
	p = map_dev(fd, a.grant_id, GRANT_SIZE);
	tap_ok(check_pattern(p, GRANT_SIZE, SEED_PEER),
	       "what the program wrote through the dma-buf reads back through /dev/vcma");
	munmap(p, GRANT_SIZE);
	rc = run_cmd(out, sizeof(out), VCMA_GUEST " export --read-only exp0 --exec vcma-vmtest "
		     "export-peer %u ro", SEED_PEER);
	fputs(out, stdout);
	tap_ok(rc == 0, "--read-only: an O_RDONLY dma-buf that refuses a writable mapping "
	       "(exit %d)", rc);

	socket_checks(fd, &a, &b, &c);
	error_checks(&a);
	p = map_dev(fd, c.grant_id, 2 * MiB);
	tap_ok(check_pattern(p, 2 * MiB, SEED_DEV), "the bystander grant's data is untouched");
	munmap(p, 2 * MiB);

	tap_ok(!vcma_release(fd, a.grant_id) && !vcma_release(fd, b.grant_id) &&
	       !vcma_release(fd, c.grant_id), "all three grants release");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod vcma");
	return tap_done();
}

/*
 * export-peer SEED NEWSEED|ro, run by vcma-guest export --exec: prints
 * its checks as TAP comments and exits with the number that failed.
 */
int scenario_export_peer(int argc, char **argv)
{
	const char *fds = getenv("VCMA_DMABUF_FD"), *ids = getenv("VCMA_GRANT_ID");
	const char *sizes = getenv("VCMA_GRANT_SIZE");
	struct dma_buf_sync sync = { 0 };
	char holders[256] = "", want[64];
	uint64_t seed, id, size;
	int dfd, failed = 0, fd;
	bool ro;
	void *p;

#define PEER_CHECK(cond, ...) do {					\
		bool ok_ = (cond);					\
		printf("# export-peer: %s - ", ok_ ? "ok" : "FAILED");	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failed += !ok_;						\
	} while (0)

	if (argc != 3 || !fds || !ids || !sizes) {
		printf("# export-peer: needs SEED NEWSEED|ro and the VCMA_* environment\n");
		return 100;
	}
	seed = strtoull(argv[1], NULL, 0);
	ro = !strcmp(argv[2], "ro");
	dfd = atoi(fds);
	id = strtoull(ids, NULL, 0);
	size = strtoull(sizes, NULL, 0);
	PEER_CHECK(fcntl(dfd, F_GETFD) == 0, "fd %d is open and not close-on-exec", dfd);
	PEER_CHECK((fcntl(dfd, F_GETFL) & O_ACCMODE) == (ro ? O_RDONLY : O_RDWR),
		   "its access mode is %s", ro ? "O_RDONLY" : "O_RDWR");
	PEER_CHECK(exported(id) == 1, "sysfs grants/%" PRIu64 "/exported is 1", id);
	snprintf(want, sizeof(want), "export dma-buf:vcma-guest[%d]\n", (int)getpid());
	grant_holders(id, holders, sizeof(holders));
	PEER_CHECK(strstr(holders, want) != NULL, "holders names this process: %.*s",
		   (int)strcspn(holders, "\n"), holders);
	fd = open(VCMA_DEV_PATH, O_RDWR | O_CLOEXEC);
	PEER_CHECK(fd >= 0 && vcma_release(fd, id) == -EBUSY, "RELEASE while it lives is EBUSY");
	if (fd >= 0)
		close(fd);

	p = mmap(NULL, size, PROT_READ, MAP_SHARED, dfd, 0);
	PEER_CHECK(p != MAP_FAILED, "mmap of %" PRIu64 " bytes", size);
	if (p == MAP_FAILED)
		return failed;
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync);
	PEER_CHECK(check_pattern(p, size, seed),
		   "it holds the pattern written through /dev/vcma's mapping");
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync);
	munmap(p, size);

	if (ro) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
		PEER_CHECK(p == MAP_FAILED && errno == EACCES,
			   "a writable mapping of the read-only fd is refused (%s)",
			   p == MAP_FAILED ? strerror(errno) : "mapped");
		return failed;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	PEER_CHECK(p != MAP_FAILED, "writable mapping");
	if (p == MAP_FAILED)
		return failed;
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync);
	fill_pattern(p, size, strtoull(argv[2], NULL, 0));
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync);
	munmap(p, size);
	return failed;
#undef PEER_CHECK
}
