/*
 * `hbmon-bench detect`: SPEC §7's detection and memory bars. A fleet of
 * robots keeps a large number of subjects on schedule against the real
 * hbmon-server while chosen subjects fall silent at known moments; every
 * alert is timed against its subject's threshold deadline, any alert about
 * a subject that kept its schedule is a false alert, and the server's RSS
 * is divided by the subjects it tracks.
 */
#ifndef HBMON_BENCH_CMD_DETECT_H
#define HBMON_BENCH_CMD_DETECT_H

/* One line for the verb list of `hbmon-bench --help`. */
extern const char cmd_detect_summary[];

/*
 * Runs the verb; argv[0] is "detect". Prints results on stdout, progress
 * and errors on stderr. Returns the exit status: 0 for a valid run with
 * no false or unexpected alert and every silence alerted; 1 otherwise
 * (including a fleet that could not keep its schedule); 2 for a bad
 * command line. Speed never makes it fail.
 */
int cmd_detect(int argc, char **argv);

#endif
