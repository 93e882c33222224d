// SPDX-License-Identifier: MIT
/* Output files written beside their target and renamed into place: outfile.h. */
#include "outfile.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int npuc_outfile_begin(struct npuc_outfile *o, const char *path, struct npuc_diag *d)
{
	char *dup = strdup(path), *dup2 = strdup(path);
	mode_t mask;
	int fd = -1;

	o->path = path;
	o->tmp = NULL;
	if (dup && dup2) {
		const char *dir = dirname(dup), *base = basename(dup2);
		size_t n = strlen(dir) + strlen(base) + 16;

		o->tmp = malloc(n);
		if (o->tmp) {
			snprintf(o->tmp, n, "%s/.%s.XXXXXX", dir, base);
			fd = mkstemp(o->tmp);
		}
	}
	free(dup);
	free(dup2);
	if (!o->tmp) {
		npuc_diag_set(d, "%s: out of memory", path);
		return -1;
	}
	if (fd < 0) {
		npuc_diag_set(d, "%s: cannot create a file in its directory: %s", path,
			      strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* mkstemp makes it 0600: give it the mode a new file would have. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask))
		npuc_diag_set(d, "%s: chmod: %s", o->tmp, strerror(errno));
	close(fd);
	return 0;
}

int npuc_outfile_commit(struct npuc_outfile *o, struct npuc_diag *d)
{
	if (!o->tmp)
		return 0;
	if (rename(o->tmp, o->path)) {
		npuc_diag_set(d, "%s: cannot replace it: %s", o->path, strerror(errno));
		npuc_outfile_abort(o);
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void npuc_outfile_abort(struct npuc_outfile *o)
{
	if (!o->tmp)
		return;
	unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
}

/* The canonical path of a file that may not exist yet: realpath(dir) + "/" + base. */
static char *canonical(const char *path)
{
	char *dup = strdup(path), *dup2 = strdup(path), *dir = NULL, *out = NULL;

	if (dup && dup2) {
		dir = realpath(dirname(dup), NULL);
		if (dir) {
			const char *base = basename(dup2);
			size_t n = strlen(dir) + strlen(base) + 2;

			out = malloc(n);
			if (out)
				snprintf(out, n, "%s/%s", dir, base);
		}
	}
	free(dir);
	free(dup);
	free(dup2);
	return out;
}

int npuc_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char *ca, *cb;
	int same;

	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	ca = canonical(a);
	cb = canonical(b);
	same = ca && cb && !strcmp(ca, cb);
	free(ca);
	free(cb);
	return same;
}

int npuc_outputs_check(const char *const *outs, const char *const *out_what, int n_out,
		       const char *const *ins, const char *const *in_what, int n_in,
		       struct npuc_diag *d)
{
	for (int i = 0; i < n_out; i++) {
		if (!outs[i])
			continue;
		for (int j = 0; j < n_in; j++)
			if (ins[j] && npuc_same_file(outs[i], ins[j])) {
				npuc_diag_set(d, "%s %s is %s (the same file): refusing to "
					      "overwrite it", out_what[i], outs[i], in_what[j]);
				return -1;
			}
		for (int j = 0; j < i; j++)
			if (outs[j] && npuc_same_file(outs[i], outs[j])) {
				npuc_diag_set(d, "%s %s is also %s: one file cannot be both",
					      out_what[i], outs[i], out_what[j]);
				return -1;
			}
	}
	return 0;
}
