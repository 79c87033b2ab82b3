// SPDX-License-Identifier: MIT
/*
 * Stand-in for libFuzzer where the compiler has none (gcc): runs the fuzz
 * target over every file named on the command line or found in a named
 * directory, and over derived inputs: truncations of each file and a
 * fixed number of deterministic byte mutations, so the run still explores
 * beyond the seeds. A failing property aborts, as under libFuzzer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MUTANTS	10000

static unsigned int next_rand(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void run_derived(unsigned char *b, size_t len)
{
	unsigned int seed = 2463534242u ^ (unsigned int)len;
	unsigned char *copy;

	/* Every truncation of small inputs, about 512 of large ones. */
	size_t step = len > 512 ? len / 512 : 1;

	LLVMFuzzerTestOneInput(b, len);
	for (size_t k = 0; k < len; k += step) {
		/* An exact-size copy, so a sanitizer sees reads past the end. */
		copy = malloc(k ? k : 1);
		if (!copy)
			abort();
		memcpy(copy, b, k);
		LLVMFuzzerTestOneInput(copy, k);
		free(copy);
	}
	if (!len)
		return;
	for (int i = 0; i < MUTANTS; i++) {
		size_t at = next_rand(&seed) % len;
		unsigned char old = b[at];

		b[at] = (unsigned char)next_rand(&seed);
		LLVMFuzzerTestOneInput(b, len);
		b[at] = old;
	}
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	b = malloc(len ? (size_t)len : 1);
	if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	run_derived(b, (size_t)len);
	free(b);
	return 1;
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d) {
		perror(path);
		return -1;
	}
	while ((e = readdir(d))) {
		char sub[4096];
		int rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc = run_file(sub);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
		n += rc;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int total = 0;

	for (int i = 1; i < argc; i++) {
		int n = run_path(argv[i]);

		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replay: %d inputs ran clean\n", total);
	return 0;
}
