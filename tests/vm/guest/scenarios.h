/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The scenarios vcma-vmtest runs; each returns the exit status. */
#ifndef VCMA_SCENARIOS_H
#define VCMA_SCENARIOS_H

int scenario_idle(int argc, char **argv);
int scenario_badinput(int argc, char **argv);
int scenario_impossible(int argc, char **argv);
int scenario_balloon(int argc, char **argv);
int scenario_busy(int argc, char **argv);
int scenario_bench(int argc, char **argv);
int scenario_claims(int argc, char **argv);
int scenario_tight(int argc, char **argv);
int scenario_gig(int argc, char **argv);
int scenario_export(int argc, char **argv);
int scenario_export_peer(int argc, char **argv);

#endif /* VCMA_SCENARIOS_H */
