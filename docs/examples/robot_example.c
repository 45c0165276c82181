/*
 * A minimal robot engine reporting to hbmon-server with libhbmon-client.
 *
 * Build against the installed library, with pkg-config (from any prefix:
 * outside /usr the .pc file adds an rpath, so it runs as built) or with
 * CMake (find_package(hbmon-client), target hbmon::client):
 *
 *   cc robot_example.c $(pkg-config --cflags --libs hbmon-client) \
 *       -o robot_example
 *
 * Run, with the secret from `hbctl robot add R1 --secret-file r1.secret`:
 *
 *   HBMON_SECRET=$(cat r1.secret) ./robot_example \
 *       tcp://127.0.0.1:7781 R1 [SECONDS]
 *
 * It sends one synchronous batch and prints the server's answer, then (when
 * SECONDS is given) runs automatic mode for that long while "trading",
 * printing the client's health every few seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hbmon/client.h>

#define N_ACCOUNTS 3

static const char *const names[N_ACCOUNTS] = { "ACC_001", "ACC_002",
	                                       "ACC_003" };

int
main(int argc, char **argv)
{
	hbmon_client *c = NULL;
	hbmon_robot_state robot = { HBMON_HEALTHY, N_ACCOUNTS, 1 };
	hbmon_account_state accounts[N_ACCOUNTS];
	hbmon_result call, per[N_ACCOUNTS];
	hbmon_client_health health;
	int seconds = argc > 3 ? atoi(argv[3]) : 0;
	int rv;

	if (argc < 3) {
		fprintf(stderr, "usage: %s URL ROBOT_ID [SECONDS]\n", argv[0]);
		return 2;
	}
	/* The secret never goes on the command line. NULL would send
	 * unsigned requests (a server with auth = none only). */
	rv = hbmon_client_open(&c, argv[1], argv[2], getenv("HBMON_SECRET"),
	                       N_ACCOUNTS);
	if (rv != HBMON_OK) {
		fprintf(stderr, "open: %s\n", hbmon_strerror(rv));
		return 2;
	}
	hbmon_client_set_timeout(c, 2000); /* never block longer than 2 s */

	for (int i = 0; i < N_ACCOUNTS; i++) {
		accounts[i] =
		    (hbmon_account_state){ names[i],
			                   i == 0 ? HBMON_ACCOUNT_ACTIVE
			                          : HBMON_ACCOUNT_IDLE,
			                   true, i == 0 ? 2 : 0 };
	}

	/* 1. One synchronous batch: the robot and its accounts. */
	rv = hbmon_report_batch(c, &robot, accounts, N_ACCOUNTS, &call, NULL,
	                        per);
	if (rv != HBMON_OK) {
		fprintf(stderr, "report: %s (server code %d): %s\n",
		        hbmon_strerror(rv), call.code, call.message);
		hbmon_client_close(c);
		return 1;
	}
	printf("recorded: robot and %d accounts\n", N_ACCOUNTS);

	/* 2. Automatic mode: set state whenever it changes; the library
	 * sends it every 60-120 s from its own thread. */
	if (seconds > 0) {
		hbmon_set_robot(c, &robot);
		for (int i = 0; i < N_ACCOUNTS; i++) {
			hbmon_set_account(c, &accounts[i]);
		}
		hbmon_client_start(c);
		for (int t = 0; t < seconds; t++) {
			sleep(1);
			/* ...the robot trades; an order fills... */
			accounts[0].open_orders = (uint32_t) (t % 5);
			hbmon_set_account(c, &accounts[0]); /* no network */
			if (t % 5 == 4) {
				hbmon_client_get_health(c, &health);
				printf("health: %llu batches ok, %u failing "
				       "in a row, last: %s\n",
				       (unsigned long long) health.successes,
				       (unsigned) health.consecutive_failures,
				       hbmon_strerror(health.last_result.err));
			}
		}
		hbmon_client_stop(c);
	}
	hbmon_client_close(c);
	return 0;
}
