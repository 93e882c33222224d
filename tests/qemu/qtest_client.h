/* SPDX-License-Identifier: MIT */
/*
 * A client of QEMU's qtest protocol (-accel qtest -qtest stdio): starts a
 * QEMU process on two pipes and drives its port I/O, MMIO and RAM with the
 * text commands (outl, readl, write, read, ...), no guest kernel.
 *
 * QEMU is started with PR_SET_PDEATHSIG: it dies with the test process,
 * even when a failed assertion ends the test early. Every reply is
 * awaited with a deadline; a QEMU that stops answering fails the test
 * instead of hanging it. Asynchronous "IRQ raise/lower N" lines (after
 * qt_irq_intercept) are recorded, not mistaken for replies.
 */
#ifndef QTEST_CLIENT_H
#define QTEST_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qt {
	pid_t pid;
	int to_qemu, from_qemu;		/* pipe ends */
	char buf[1 << 16];		/* partial input line */
	size_t len;
	char *line;			/* the last reply line (malloc'd) */
	size_t line_cap;
	int irq_raised;			/* "IRQ raise" lines seen */
	int irq_lowered;
	char log_path[256];		/* QEMU's stderr: $NPU_QTEST_LOGDIR or /tmp */
};

/*
 * Starts QEMU (path from $NPU_QEMU) on a pc machine with the extra
 * arguments (a NULL-terminated list, e.g. "-device", "npu,addr=04.0").
 * Returns 0, or -1 with a message on stderr.
 */
int qt_start(struct qt *q, const char *const *extra);
/* QEMU's stderr, where -d guest_errors logs go: print, or search. */
void qt_print_log(const struct qt *q);
int qt_log_contains(const struct qt *q, const char *text);
/* Kills QEMU (SIGKILL) and reaps it; safe to call twice. */
void qt_stop(struct qt *q);
/* 1 if QEMU is still running. */
int qt_alive(struct qt *q);

/* Sends one command line; returns the reply ("OK ...") or NULL on
 * timeout, EOF or an error reply. */
const char *qt_cmd(struct qt *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void qt_outl(struct qt *q, uint16_t port, uint32_t v);
uint32_t qt_inl(struct qt *q, uint16_t port);
void qt_writel(struct qt *q, uint64_t addr, uint32_t v);
uint32_t qt_readl(struct qt *q, uint64_t addr);
void qt_writeb(struct qt *q, uint64_t addr, uint8_t v);
uint8_t qt_readb(struct qt *q, uint64_t addr);
void qt_writeq(struct qt *q, uint64_t addr, uint64_t v);
/* Guest memory, any length (sent in chunks). */
void qt_memwrite(struct qt *q, uint64_t addr, const void *src, size_t len);
void qt_memread(struct qt *q, uint64_t addr, void *dst, size_t len);
/* Intercepts the IO-APIC's inputs: INTx edges become "IRQ" lines. */
void qt_irq_intercept(struct qt *q);
/* Reads pending asynchronous lines for up to ms milliseconds. */
void qt_poll_async(struct qt *q, int ms);

#endif /* QTEST_CLIENT_H */
