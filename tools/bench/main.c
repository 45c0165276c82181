/*
 * hbmon-bench: the benchmarks behind SPEC §7's quality bars. Each verb is
 * one bar; the bars are measured here, never asserted by timed tests.
 *
 *   hbmon-bench ingest [--transport ipc|tcp|both] [--inflight 1,8,64] ...
 *   hbmon-bench detect [--subjects 100000] [--interval 5s] ...
 *   hbmon-bench wal [--duration 60s] [--inflight 8] [--batch 100] ...
 *   hbmon-bench echo-server --listen URL   (ingest's baseline process)
 */
#include <stdio.h>
#include <string.h>

#include "cmd_detect.h"
#include "cmd_ingest.h"
#include "cmd_wal.h"
#include "echo.h"

#define EXIT_USAGE 2

struct verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "ingest", cmd_ingest_summary, cmd_ingest },
	{ "detect", cmd_detect_summary, cmd_detect },
	{ "wal", cmd_wal_summary, cmd_wal },
	{ "echo-server", echo_server_summary, echo_server_main },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	fputs("usage: hbmon-bench VERB [options]\n"
	      "\n"
	      "Measures hbmon against the quality bars of SPEC section 7.\n"
	      "\n"
	      "verbs:\n",
	      f);
	for (size_t i = 0; i < N_VERBS; i++) {
		fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
	}
	fputs("\n`hbmon-bench VERB --help` describes a verb's options.\n", f);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("hbmon-bench %s\n", HBMON_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < N_VERBS; i++) {
		if (strcmp(argv[1], verbs[i].name) == 0) {
			return verbs[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr,
	        "hbmon-bench: unknown verb '%s'\n(hbmon-bench --help for "
	        "usage)\n",
	        argv[1]);
	return EXIT_USAGE;
}
