// SPDX-License-Identifier: MIT
/* libnpu: the calling thread's last error message, and status names. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char err_msg[512];

int npu_err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return code;
}

void npu_err_clear(void)
{
	err_msg[0] = 0;
}

const char *npu_last_error(void)
{
	return err_msg;
}

const char *npu_status_name(int status)
{
	static const char *const names[] = {
		"NPU_OK", "NPU_ERR_INVAL", "NPU_ERR_NOMEM", "NPU_ERR_NODEV", "NPU_ERR_IO",
		"NPU_ERR_FORMAT", "NPU_ERR_BUSY", "NPU_ERR_TIMEOUT", "NPU_ERR_DEVICE",
		"NPU_ERR_UNSUPPORTED", "NPU_ERR_STATE", "NPU_ERR_CPU",
	};

	if (status > 0 || -(long)status >= (long)(sizeof(names) / sizeof(names[0])))
		return "NPU_ERR_UNKNOWN";
	return names[-status];
}
