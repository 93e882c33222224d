// SPDX-License-Identifier: MIT
/* qtest protocol client: see qtest_client.h. */
#include "qtest_client.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 10000	/* a qtest reply takes microseconds; TCG is not involved */
#define CHUNK 4096		/* bytes per memory write/read command */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls fn on each line of QEMU's log; stops when it returns nonzero. */
static int log_lines(const struct qt *q, int (*fn)(const char *line, const void *arg),
		     const void *arg)
{
	char line[512];
	FILE *f = fopen(q->log_path, "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = fn(line, arg);
	fclose(f);
	return found;
}

static int print_line(const char *line, const void *arg)
{
	(void)arg;
	fputs(line, stderr);
	return 0;
}

static int has_text(const char *line, const void *arg)
{
	return strstr(line, arg) != NULL;
}

void qt_print_log(const struct qt *q)
{
	fprintf(stderr, "QEMU's log (%s):\n", q->log_path);
	log_lines(q, print_line, NULL);
}

int qt_log_contains(const struct qt *q, const char *text)
{
	return log_lines(q, has_text, text);
}

int qt_start(struct qt *q, const char *const *extra)
{
	const char *qemu = getenv("NPU_QEMU");
	const char *base[] = {
		"-machine", "pc", "-accel", "qtest", "-qtest", "stdio", "-m", "128M",
		"-nodefaults", "-display", "none", "-monitor", "none", "-serial", "none",
		"-nic", "none", "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
		/* The TCG APIC's option ROM (qemu-system-data) is not needed. */
		"-global", "apic.vapic=off", "-d", "guest_errors", "-qtest-log", "/dev/null",
		NULL,
	};
	const char *argv[64];
	int in[2], out[2], n = 0, logfd;

	memset(q, 0, sizeof(*q));
	q->pid = -1;
	if (!qemu) {
		fprintf(stderr, "qtest: set NPU_QEMU to the qemu-system-x86_64 to test\n");
		return -1;
	}
	argv[n++] = qemu;
	for (int i = 0; base[i]; i++)
		argv[n++] = base[i];
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	snprintf(q->log_path, sizeof(q->log_path), "%s/npu-qtest.%d.log",
		 getenv("NPU_QTEST_LOGDIR") ? getenv("NPU_QTEST_LOGDIR") : "/tmp", (int)getpid());
	logfd = open(q->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0 || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		perror("qtest");
		return -1;
	}
	q->pid = fork();
	if (q->pid < 0) {
		perror("qtest: fork");
		return -1;
	}
	if (q->pid == 0) {
		/* QEMU must not outlive the test, whatever ends the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(logfd, 2);
		execv(qemu, (char *const *)argv);
		fprintf(stderr, "qtest: cannot run %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(logfd);
	q->to_qemu = in[1];
	q->from_qemu = out[0];
	/* Nothing is printed before the first command: check it answers. */
	if (!qt_cmd(q, "clock_step 0")) {
		qt_stop(q);
		return -1;
	}
	return 0;
}

int qt_alive(struct qt *q)
{
	int status;

	if (q->pid <= 0)
		return 0;
	return waitpid(q->pid, &status, WNOHANG) == 0;
}

void qt_stop(struct qt *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = -1;
		close(q->to_qemu);
		close(q->from_qemu);
	}
	free(q->line);
	q->line = NULL;
	q->line_cap = 0;
}

/* Takes one complete line out of the buffer into q->line, if there is one. */
static int take_line(struct qt *q)
{
	char *nl = memchr(q->buf, '\n', q->len);
	size_t n;

	if (!nl)
		return 0;
	n = (size_t)(nl - q->buf);
	if (n + 1 > q->line_cap) {
		q->line_cap = n + 1;
		q->line = realloc(q->line, q->line_cap);
		ck_assert_ptr_nonnull(q->line);
	}
	memcpy(q->line, q->buf, n);
	q->line[n] = '\0';
	q->len -= n + 1;
	memmove(q->buf, nl + 1, q->len);
	return 1;
}

/* Async "IRQ raise N" / "IRQ lower N": counted; 1 if the line was one. */
static int async_line(struct qt *q)
{
	if (strncmp(q->line, "IRQ ", 4))
		return 0;
	if (!strncmp(q->line, "IRQ raise", 9))
		q->irq_raised++;
	else
		q->irq_lowered++;
	return 1;
}

/* Reads input until a line is available or the deadline passes. */
static int read_line(struct qt *q, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = q->from_qemu, .events = POLLIN };
		long long left;
		ssize_t r;

		if (take_line(q))
			return 1;
		left = deadline - now_ms();
		if (left <= 0 || q->len == sizeof(q->buf))
			return 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		r = read(q->from_qemu, q->buf + q->len, sizeof(q->buf) - q->len);
		if (r <= 0)
			return 0;
		q->len += (size_t)r;
	}
}

void qt_poll_async(struct qt *q, int ms)
{
	long long deadline = now_ms() + ms;

	while (read_line(q, deadline))
		async_line(q);
}

const char *qt_cmd(struct qt *q, const char *fmt, ...)
{
	long long deadline = now_ms() + REPLY_TIMEOUT_MS;
	char *cmd = NULL;
	va_list ap;
	int n;

	if (q->pid <= 0)
		return NULL;
	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	for (int off = 0; off < n;) {
		ssize_t w = write(q->to_qemu, cmd + off, (size_t)(n - off));

		if (w <= 0) {
			free(cmd);
			return NULL;
		}
		off += (int)w;
	}
	if (write(q->to_qemu, "\n", 1) != 1) {
		free(cmd);
		return NULL;
	}
	free(cmd);
	while (read_line(q, deadline)) {
		if (async_line(q))
			continue;
		return strncmp(q->line, "OK", 2) ? NULL : q->line;
	}
	return NULL;
}

/* A command whose reply must be OK; returns the value after "OK ". */
static uint64_t cmd_value(struct qt *q, const char *what, const char *reply)
{
	ck_assert_msg(reply != NULL, "qtest: no reply to %s (QEMU %s)", what,
		      qt_alive(q) ? "alive" : "dead");
	return reply[2] ? strtoull(reply + 3, NULL, 0) : 0;
}

void qt_outl(struct qt *q, uint16_t port, uint32_t v)
{
	cmd_value(q, "outl", qt_cmd(q, "outl 0x%x 0x%x", port, v));
}

uint32_t qt_inl(struct qt *q, uint16_t port)
{
	return (uint32_t)cmd_value(q, "inl", qt_cmd(q, "inl 0x%x", port));
}

void qt_writel(struct qt *q, uint64_t addr, uint32_t v)
{
	cmd_value(q, "writel", qt_cmd(q, "writel 0x%llx 0x%x", (unsigned long long)addr, v));
}

uint32_t qt_readl(struct qt *q, uint64_t addr)
{
	return (uint32_t)cmd_value(q, "readl",
				   qt_cmd(q, "readl 0x%llx", (unsigned long long)addr));
}

void qt_writeb(struct qt *q, uint64_t addr, uint8_t v)
{
	cmd_value(q, "writeb", qt_cmd(q, "writeb 0x%llx 0x%x", (unsigned long long)addr, v));
}

uint8_t qt_readb(struct qt *q, uint64_t addr)
{
	return (uint8_t)cmd_value(q, "readb",
				  qt_cmd(q, "readb 0x%llx", (unsigned long long)addr));
}

void qt_writeq(struct qt *q, uint64_t addr, uint64_t v)
{
	cmd_value(q, "writeq", qt_cmd(q, "writeq 0x%llx 0x%llx", (unsigned long long)addr,
				      (unsigned long long)v));
}

void qt_memwrite(struct qt *q, uint64_t addr, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = src;
	char *enc = malloc(2 * CHUNK + 1);

	ck_assert_ptr_nonnull(enc);
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		for (size_t i = 0; i < n; i++) {
			enc[2 * i] = hex[p[off + i] >> 4];
			enc[2 * i + 1] = hex[p[off + i] & 15];
		}
		enc[2 * n] = '\0';
		cmd_value(q, "write", qt_cmd(q, "write 0x%llx 0x%zx 0x%s",
					     (unsigned long long)(addr + off), n, enc));
	}
	free(enc);
}

static int nib(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

void qt_memread(struct qt *q, uint64_t addr, void *dst, size_t len)
{
	uint8_t *p = dst;

	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		const char *r = qt_cmd(q, "read 0x%llx 0x%zx", (unsigned long long)(addr + off), n);

		ck_assert_msg(r && strlen(r) == 5 + 2 * n, "qtest: bad reply to read");
		for (size_t i = 0; i < n; i++)
			p[off + i] = (uint8_t)(nib(r[5 + 2 * i]) << 4 | nib(r[6 + 2 * i]));
	}
}

void qt_irq_intercept(struct qt *q)
{
	cmd_value(q, "irq_intercept_in", qt_cmd(q, "irq_intercept_in ioapic"));
}
