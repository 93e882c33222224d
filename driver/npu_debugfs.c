// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * debugfs: /sys/kernel/debug/npu/<device>/
 *   state    registers and the driver's ring indices
 *   objects  live files, BOs and jobs, resets, runtime suspends (leak checks)
 *   contexts every context (open file, or closed with work left): id, state,
 *            jobs, faults, device time and cycles, BO memory
 *   faults   the last NPU_FAULT_HISTORY device faults
 *   reset    write 1: a forced device reset, as recovery does (for tests)
 */
#include <linux/debugfs.h>
#include <linux/kstrtox.h>
#include <linux/pm_runtime.h>
#include <linux/seq_file.h>

#include "npu_drv.h"

static int npu_state_show(struct seq_file *m, void *unused)
{
	struct npu_device *ndev = m->private;
	struct device *dev = ndev->drm.dev;
	unsigned long flags;
	u32 tail, done;

	spin_lock_irqsave(&ndev->ring_lock, flags);
	tail = ndev->tail;
	done = ndev->done;
	spin_unlock_irqrestore(&ndev->ring_lock, flags);
	seq_printf(m, "ring_tail %u\nring_done %u\n", tail, done);
	/* Registers only while the device is powered; never wake it for this. */
	if (pm_runtime_get_if_in_use(dev) <= 0) {
		seq_puts(m, "power suspended\n");
		return 0;
	}
	seq_printf(m, "power active\nstatus 0x%x\nhead %u\njobs_done %u\nprogress %u\n",
		   npu_read(ndev, NPU_REG_STATUS), npu_read(ndev, NPU_REG_RING_HEAD),
		   npu_read(ndev, NPU_REG_JOBS_DONE), npu_read(ndev, NPU_REG_PROGRESS));
	pm_runtime_put_autosuspend(dev);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(npu_state);

static int npu_objects_show(struct seq_file *m, void *unused)
{
	struct npu_device *ndev = m->private;

	seq_printf(m, "files %d\nbos %d\njobs %d\nresets %d\nruntime_suspends %d\n",
		   atomic_read(&ndev->nr_files), atomic_read(&ndev->nr_bos),
		   atomic_read(&ndev->nr_jobs), atomic_read(&ndev->resets),
		   atomic_read(&ndev->runtime_suspends));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(npu_objects);

static int npu_contexts_show(struct seq_file *m, void *unused)
{
	struct npu_device *ndev = m->private;
	struct npu_file *ctx;

	mutex_lock(&ndev->files_lock);
	list_for_each_entry(ctx, &ndev->files, link)
		seq_printf(m, "context %u %s submitted %llu done %lld faults %d busy_ns %lld cycles %lld bo_bytes %lld\n",
			   ctx->ctx_id, atomic_read(&ctx->banned) ? "banned" : "ok", ctx->seqno,
			   (long long)atomic64_read(&ctx->jobs_done), atomic_read(&ctx->faults),
			   (long long)atomic64_read(&ctx->busy_ns),
			   (long long)atomic64_read(&ctx->cycles),
			   (long long)atomic64_read(&ctx->bo_bytes));
	mutex_unlock(&ndev->files_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(npu_contexts);

static int npu_faults_show(struct seq_file *m, void *unused)
{
	struct npu_device *ndev = m->private;
	struct npu_fault_record r[NPU_FAULT_HISTORY];
	unsigned long flags;
	u32 total, first, i;

	spin_lock_irqsave(&ndev->fault_lock, flags);
	total = ndev->nr_faults;
	memcpy(r, ndev->faults, sizeof(r));
	spin_unlock_irqrestore(&ndev->fault_lock, flags);
	seq_printf(m, "total %u\n", total);
	first = total > NPU_FAULT_HISTORY ? total - NPU_FAULT_HISTORY : 0;
	for (i = first; i < total; i++) {
		const struct npu_fault_record *f = &r[i % NPU_FAULT_HISTORY];

		seq_printf(m, "%llu ns context %u job %llu fault %u at cmd offset %u addr 0x%llx info 0x%x\n",
			   f->time_ns, f->ctx_id, f->seqno, f->fault, f->cmd_offset, f->addr,
			   f->info);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(npu_faults);

static ssize_t npu_reset_write(struct file *file, const char __user *buf, size_t len,
			       loff_t *pos)
{
	struct npu_device *ndev = file->private_data;
	bool yes;
	int ret;

	ret = kstrtobool_from_user(buf, len, &yes);
	if (ret)
		return ret;
	if (!yes)
		return len;
	ret = pm_runtime_resume_and_get(ndev->drm.dev);
	if (ret)
		return ret;
	drm_info(&ndev->drm, "forced reset (debugfs)\n");
	ret = npu_recover(ndev, -EIO);
	pm_runtime_mark_last_busy(ndev->drm.dev);
	pm_runtime_put_autosuspend(ndev->drm.dev);
	return ret ? ret : len;
}

static const struct file_operations npu_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = npu_reset_write,
};

/* /sys/kernel/debug/npu, made at module load. */
struct dentry *npu_debugfs_root;

void npu_debugfs_init(struct npu_device *ndev)
{
	ndev->debugfs = debugfs_create_dir(dev_name(ndev->drm.dev), npu_debugfs_root);
	debugfs_create_file("state", 0444, ndev->debugfs, ndev, &npu_state_fops);
	debugfs_create_file("objects", 0444, ndev->debugfs, ndev, &npu_objects_fops);
	debugfs_create_file("contexts", 0444, ndev->debugfs, ndev, &npu_contexts_fops);
	debugfs_create_file("faults", 0444, ndev->debugfs, ndev, &npu_faults_fops);
	debugfs_create_file("reset", 0200, ndev->debugfs, ndev, &npu_reset_fops);
}

void npu_debugfs_fini(struct npu_device *ndev)
{
	debugfs_remove_recursive(ndev->debugfs);
}
