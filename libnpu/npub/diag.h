/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: every failing function of the compiler and of the runtime's
 * shared parts (.npub container, host kernels) fills one of these with a
 * message that names the file, object and what was expected.
 */
#ifndef NPUC_DIAG_H
#define NPUC_DIAG_H

struct npuc_diag {
	char msg[512];
};

void npuc_diag_set(struct npuc_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* NPUC_DIAG_H */
