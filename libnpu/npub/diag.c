// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "diag.h"

void npuc_diag_set(struct npuc_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}
