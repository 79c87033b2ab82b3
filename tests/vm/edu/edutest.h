/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* vcma-edutest: the scenarios in which QEMU's edu device DMAs into grants. */
#ifndef VCMA_EDUTEST_H
#define VCMA_EDUTEST_H

#define EDU_MAX_DEVICES	24

/* PCI names ("0000:00:03.0") of the edu devices; returns how many. */
int edu_find_devices(char names[][16], int max);

int scenario_uio(int argc, char **argv);
int scenario_dma(int argc, char **argv);
int scenario_dma_host(int argc, char **argv);
int scenario_fence(int argc, char **argv);

#endif /* VCMA_EDUTEST_H */
