/* SPDX-License-Identifier: MIT */
/*
 * Shared setup of the libvirt suite: a private qemu:///embed root with the
 * qemu.conf these machines need (DESIGN.md) and domain XML for a TCG guest
 * booting Debian's kernel directly.
 */
#ifndef VCMA_TEST_LV_EMBED_H
#define VCMA_TEST_LV_EMBED_H

#include <stdbool.h>

struct vcma_lv_conn;

struct lv_embed {
	char dir[64];		/* private root, removed by lv_embed_cleanup */
	char uri[128];		/* qemu:///embed?root=DIR/root */
	char kernel[4096];	/* absolute: QEMU does not run in our cwd */
	char initrd[4096];
	struct vcma_lv_conn *conn;
};

/*
 * Parses --kernel FILE --initrd FILE, checks what the embedded driver needs
 * and creates the root. Returns NULL when ready, or why the suite cannot
 * run here (the caller reports a TAP skip).
 */
const char *lv_embed_setup(struct lv_embed *e, int argc, char **argv);
void lv_embed_cleanup(struct lv_embed *e);

/*
 * A TCG domain of mem_mib MiB with a virtio-serial controller, a memfd
 * shared memory backing and a virtio balloon; with the vcma channel bound at
 * sock unless NULL (libvirt picks the path when sock is ""), and <vcma:config> holding meta unless NULL
 * (reservation/balloon elements without prefix). malloc'ed.
 */
char *lv_embed_domain_xml(const struct lv_embed *e, const char *name, unsigned mem_mib,
			  const char *sock, const char *meta);

#endif
