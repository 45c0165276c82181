/*
 * `hbmon-bench wal`: the write-ahead log's bound (SPEC §3.5). A full-speed
 * ingest run against the real hbmon-server, with alerts flowing and the
 * outbox and state read meanwhile as notifiers and hbctl do, while the
 * size of the WAL file is sampled.
 */
#ifndef HBMON_BENCH_CMD_WAL_H
#define HBMON_BENCH_CMD_WAL_H

/* One line for the verb list of `hbmon-bench --help`. */
extern const char cmd_wal_summary[];

/*
 * Runs the verb; argv[0] is "wal". Prints results on stdout, errors on
 * stderr. Returns the exit status: 0; 1 when a request failed, a run could
 * not be made, or the WAL grew past its stated bound; 2 for a bad command
 * line.
 */
int cmd_wal(int argc, char **argv);

#endif
