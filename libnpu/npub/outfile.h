/* SPDX-License-Identifier: MIT */
/*
 * Output files that never destroy what was there. A command writes each
 * output to a temporary file next to it and renames the temporaries over
 * the targets only once every output succeeded: a failed write (full
 * disk, file-size limit, bad path of another output) leaves the old files
 * as they were. And a command refuses an output that is one of its inputs
 * or another output: the same file by device and inode whatever the name
 * (./m.onnx, a hard link), or the same canonical path for files that do
 * not exist yet.
 */
#ifndef NPUC_OUTFILE_H
#define NPUC_OUTFILE_H

#include "diag.h"

struct npuc_outfile {
	const char *path;		/* the target */
	char *tmp;			/* its temporary sibling, NULL when none */
};

/*
 * Creates path's temporary sibling (".NAME.XXXXXX" in the same directory,
 * with the mode a new file would get); write it through o->tmp.
 */
int npuc_outfile_begin(struct npuc_outfile *o, const char *path, struct npuc_diag *d);
/* Renames the temporary over the target. */
int npuc_outfile_commit(struct npuc_outfile *o, struct npuc_diag *d);
/* Removes the temporary, if any (after a failure; harmless after commit). */
void npuc_outfile_abort(struct npuc_outfile *o);

/* 1 if a and b are the same file (existing: device and inode; else by canonical path). */
int npuc_same_file(const char *a, const char *b);

/*
 * Checks a command's outputs against its inputs and each other: 0, or -1
 * with "OUT_WHAT FILE is INPUT_WHAT (the same file): refusing to
 * overwrite it" (or "... twice"). Names in *_what, NULL paths skipped.
 */
int npuc_outputs_check(const char *const *outs, const char *const *out_what, int n_out,
		       const char *const *ins, const char *const *in_what, int n_in,
		       struct npuc_diag *d);

#endif /* NPUC_OUTFILE_H */
