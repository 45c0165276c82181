/*
 * `hbmon-bench ingest`: SPEC §7's ingest bar. hbmon-server's requests/s
 * against a bare nng REP echo server's, same client, same concurrency,
 * ipc and tcp, with everything the server does switched on.
 */
#ifndef HBMON_BENCH_CMD_INGEST_H
#define HBMON_BENCH_CMD_INGEST_H

/* One line for the verb list of `hbmon-bench --help`. */
extern const char cmd_ingest_summary[];

/*
 * Runs the verb; argv[0] is "ingest". Prints results on stdout, errors on
 * stderr. Returns the exit status: 0, 1 when a run had errors or could
 * not be made, 2 for a bad command line.
 */
int cmd_ingest(int argc, char **argv);

#endif
