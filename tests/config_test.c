/* config_test: defaults, INI file, environment and flags, and every error
 * a bad line can give, with its file:line. */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "hbmon/error.h"

struct settings {
	char data_dir[64];
	char listen[64];
	uint32_t miss_threshold;
	uint32_t retries;
	int64_t interval_max;
	uint64_t recv_max;
	bool verbose;
	int durability;
	char chat_id[16];
	char token[48];
};

static const char *const durability_words[] = { "normal", "full", NULL };

static const struct config_key keys[] = {
	{ .name = "data_dir",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct settings, data_dir),
	  .size = sizeof(((struct settings *) 0)->data_dir),
	  .def = "./var",
	  .env = "HBMON_TEST_DATA_DIR",
	  .help = "where data is kept" },
	{ .name = "listen",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct settings, listen),
	  .size = sizeof(((struct settings *) 0)->listen),
	  .def = "tcp://127.0.0.1:7600",
	  .help = "address robots send to" },
	{ .name = "miss_threshold",
	  .type = CONFIG_UINT,
	  .offset = offsetof(struct settings, miss_threshold),
	  .def = "2",
	  .min = 1,
	  .max = 100,
	  .env = "HBMON_TEST_MISS_THRESHOLD",
	  .help = "missed intervals before an alert" },
	{ .name = "retries",
	  .type = CONFIG_UINT,
	  .offset = offsetof(struct settings, retries),
	  .help = "retries, unbounded" },
	{ .name = "interval_max",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct settings, interval_max),
	  .def = "5m",
	  .min = 100,
	  .max = 86400000,
	  .env = "HBMON_TEST_INTERVAL_MAX",
	  .help = "longest heartbeat interval" },
	{ .name = "recv_max",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct settings, recv_max),
	  .def = "64KiB",
	  .min = 1024,
	  .max = 16 * 1024 * 1024,
	  .help = "largest message" },
	{ .name = "verbose",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct settings, verbose),
	  .def = "false",
	  .help = "say more" },
	{ .name = "durability",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct settings, durability),
	  .def = "normal",
	  .choices = durability_words,
	  .help = "fsync policy" },
	{ .name = "telegram.chat_id",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct settings, chat_id),
	  .size = sizeof(((struct settings *) 0)->chat_id),
	  .env = "HBMON_TEST_TELEGRAM_CHAT_ID",
	  .help = "chat to alert" },
	{ .name = "telegram.token",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct settings, token),
	  .size = sizeof(((struct settings *) 0)->token),
	  .help = "bot token" },
};

static const struct config_spec spec = {
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.section = "server",
};

/* --- scratch directory ------------------------------------------------- */

static char tmpdir[64];
static char paths[16][128];
static int n_paths;

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hbmon-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	n_paths = 0;
}

static void
remove_tmpdir(void)
{
	for (int i = 0; i < n_paths; i++) {
		unlink(paths[i]);
	}
	rmdir(tmpdir);
}

TestSuite(config, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 10);

/* Writes content to a new file in the scratch directory; returns its path. */
static const char *
write_file(const char *name, const char *content)
{
	char *path;
	FILE *f;

	cr_assert_lt(n_paths, 16);
	path = paths[n_paths++];
	snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(content, 1, strlen(content), f), strlen(content));
	cr_assert_eq(fclose(f), 0);
	return path;
}

static struct settings
load_defaults(void)
{
	struct settings s;
	struct config_error err;

	memset(&s, 0xA5, sizeof(s)); /* defaults must set every field */
	cr_assert_eq(config_defaults(&spec, &s, &err), HBMON_OK, "%s",
	             err.text);
	return s;
}

/* --- defaults, file, environment, flags -------------------------------- */

Test(config, defaults_set_every_key)
{
	struct settings s = load_defaults();

	cr_assert_str_eq(s.data_dir, "./var");
	cr_assert_str_eq(s.listen, "tcp://127.0.0.1:7600");
	cr_assert_eq(s.miss_threshold, 2);
	cr_assert_eq(s.retries, 0); /* NULL default: 0 */
	cr_assert_eq(s.interval_max, 300000);
	cr_assert_eq(s.recv_max, 65536);
	cr_assert_eq(s.verbose, false);
	cr_assert_eq(s.durability, 0);
	cr_assert_str_eq(s.chat_id, ""); /* NULL default: empty */
	cr_assert_str_eq(s.token, "");
}

Test(config, bad_default_is_a_table_bug)
{
	struct config_key bad[] = { keys[2] };
	struct config_spec bad_spec = { .keys = bad, .n_keys = 1 };
	struct settings s;
	struct config_error err;

	bad[0].def = "three";
	cr_assert_eq(config_defaults(&bad_spec, &s, &err), HBMON_EINVAL);
	cr_assert_not_null(strstr(err.text, "miss_threshold"), "%s", err.text);

	bad[0].def = "1000"; /* out of bounds is a table bug too */
	cr_assert_eq(config_defaults(&bad_spec, &s, &err), HBMON_EINVAL);
}

Test(config, file_overrides_defaults)
{
	const char *path =
	    write_file("a.ini", "; hbmon settings\n"
	                        "\n"
	                        "# another comment style\n"
	                        "miss_threshold = 5\n"
	                        "interval_max=90s\n"
	                        "recv_max = 1MiB ; inline comment\n"
	                        "verbose = yes\n"
	                        "durability = full\n"
	                        "retries: 4000000000\n"
	                        "\n"
	                        "[telegram]\n"
	                        "chat_id = -100123\n"
	                        "token = 123:abc\n");
	struct settings s = load_defaults();
	struct config_error err;

	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_OK, "%s",
	             err.text);
	cr_assert_eq(s.miss_threshold, 5);
	cr_assert_eq(s.interval_max, 90000);
	cr_assert_eq(s.recv_max, 1048576);
	cr_assert_eq(s.verbose, true);
	cr_assert_eq(s.durability, 1);
	cr_assert_eq(s.retries, 4000000000u);
	cr_assert_str_eq(s.chat_id, "-100123");
	cr_assert_str_eq(s.token, "123:abc");
	cr_assert_str_eq(s.data_dir, "./var"); /* not in the file */
}

Test(config, program_section_and_indentation)
{
	/* Indented keys under a header: inih would read the second as more
	 * of the first one's value. */
	const char *path = write_file("b.ini", "\xEF\xBB\xBF"
	                                       "[server]\n"
	                                       "  miss_threshold = 7\r\n"
	                                       "  listen = tcp://0.0.0.0:1\r\n"
	                                       "\tdata_dir = /srv/hb ; c\n"
	                                       "[telegram]\n"
	                                       "    chat_id = 42\n"
	                                       "    token = t\n");
	struct settings s = load_defaults();
	struct config_error err;

	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_OK, "%s",
	             err.text);
	cr_assert_eq(s.miss_threshold, 7);
	cr_assert_str_eq(s.listen, "tcp://0.0.0.0:1");
	cr_assert_str_eq(s.data_dir, "/srv/hb");
	cr_assert_str_eq(s.chat_id, "42");
	cr_assert_str_eq(s.token, "t");
}

Test(config, empty_file_is_fine)
{
	const char *path = write_file("empty.ini", "");
	struct settings s = load_defaults();
	struct config_error err;

	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_OK, "%s",
	             err.text);
	cr_assert_eq(s.miss_threshold, 2);
}

Test(config, env_overrides_file)
{
	char conf[160];
	const char *path = write_file("c.ini", "miss_threshold = 5\n"
	                                       "data_dir = /from/file\n"
	                                       "[telegram]\nchat_id = 1\n");
	char *argv[] = { "prog", conf, NULL };
	struct settings s;
	struct config_error err;
	int npos = -1;

	snprintf(conf, sizeof(conf), "--config=%s", path);
	setenv("HBMON_TEST_MISS_THRESHOLD", "9", 1);
	setenv("HBMON_TEST_TELEGRAM_CHAT_ID", "77", 1);
	setenv("HBMON_TEST_DATA_DIR", "", 1); /* empty counts as unset */
	cr_assert_eq(config_load(&spec, &s, 2, argv, &npos, &err), HBMON_OK,
	             "%s", err.text);
	cr_assert_eq(s.miss_threshold, 9);
	cr_assert_str_eq(s.chat_id, "77");
	cr_assert_str_eq(s.data_dir, "/from/file");
	cr_assert_eq(npos, 0);
}

Test(config, bad_env_names_the_variable)
{
	struct settings s = load_defaults();
	struct config_error err;

	setenv("HBMON_TEST_INTERVAL_MAX", "5x", 1);
	cr_assert_eq(config_load_env(&spec, &s, &err), HBMON_EINVAL);
	cr_assert_not_null(strstr(err.text, "HBMON_TEST_INTERVAL_MAX: '5x'"),
	                   "%s", err.text);
	cr_assert_eq(s.interval_max, 300000);

	setenv("HBMON_TEST_INTERVAL_MAX", "2d", 1);
	cr_assert_eq(config_load_env(&spec, &s, &err), HBMON_ERANGE);
}

Test(config, flags_override_env_and_file)
{
	char conf[160];
	const char *path = write_file("d.ini", "miss_threshold = 5\n"
	                                       "interval_max = 1h\n"
	                                       "durability = full\n"
	                                       "[telegram]\nchat_id = 1\n");
	char *argv[] = { "prog",
		         "--config",
		         conf,
		         "--miss-threshold",
		         "3",
		         "--interval-max",
		         "300ms",
		         "--telegram-chat-id",
		         "-100",
		         "--verbose",
		         "--durability=normal",
		         "--recv_max=2k",
		         NULL };
	int argc = (int) (sizeof(argv) / sizeof(argv[0])) - 1;
	struct settings s;
	struct config_error err;
	int npos = -1;

	snprintf(conf, sizeof(conf), "%s", path);
	setenv("HBMON_TEST_MISS_THRESHOLD", "9", 1);
	setenv("HBMON_TEST_TELEGRAM_CHAT_ID", "77", 1);
	cr_assert_eq(config_load(&spec, &s, argc, argv, &npos, &err), HBMON_OK,
	             "%s", err.text);
	cr_assert_eq(s.miss_threshold, 3);
	cr_assert_eq(s.interval_max, 300);
	cr_assert_str_eq(s.chat_id, "-100"); /* a value may start with '-' */
	cr_assert_eq(s.verbose, true);
	cr_assert_eq(s.durability, 0);
	cr_assert_eq(s.recv_max, 2048);
	cr_assert_eq(npos, 0);
}

Test(config, flag_with_equals_and_last_wins)
{
	char *argv[] = { "prog",
		         "--miss-threshold=3",
		         "--verbose=true",
		         "--verbose=off",
		         "--miss_threshold",
		         "4",
		         NULL };
	struct settings s;
	struct config_error err;

	cr_assert_eq(config_load(&spec, &s, 6, argv, NULL, &err), HBMON_OK,
	             "%s", err.text);
	cr_assert_eq(s.miss_threshold, 4);
	cr_assert_eq(s.verbose, false);
}

Test(config, positional_args_move_to_front)
{
	char *argv[] = { "prog",      "send",   "--miss-threshold",
		         "3",         "a.json", "-",
		         "--verbose", "-x",     "--",
		         "--listen",  "b",      NULL };
	int argc = (int) (sizeof(argv) / sizeof(argv[0])) - 1;
	struct settings s;
	struct config_error err;
	int npos = -1;

	cr_assert_eq(config_load(&spec, &s, argc, argv, &npos, &err), HBMON_OK,
	             "%s", err.text);
	cr_assert_eq(npos, 6);
	cr_assert_str_eq(argv[0], "prog");
	cr_assert_str_eq(argv[1], "send");
	cr_assert_str_eq(argv[2], "a.json");
	cr_assert_str_eq(argv[3], "-");
	cr_assert_str_eq(argv[4], "-x");
	cr_assert_str_eq(argv[5], "--listen"); /* after "--": not a flag */
	cr_assert_str_eq(argv[6], "b");
	cr_assert_eq(s.miss_threshold, 3);
	cr_assert_eq(s.verbose, true); /* a bool flag took no value */
	cr_assert_str_eq(s.listen, "tcp://127.0.0.1:7600");
}

Test(config, unknown_flag_is_named)
{
	char *argv[] = { "prog", "--miss-treshold", "3", NULL };
	struct settings s;
	struct config_error err;

	cr_assert_eq(config_load(&spec, &s, 3, argv, NULL, &err), HBMON_EINVAL);
	cr_assert_str_eq(err.text, "--miss-treshold: unknown flag");
}

Test(config, flag_errors)
{
	char *missing[] = { "prog", "--listen", NULL };
	char *swallow[] = { "prog", "--listen", "--verbose", NULL };
	char *bad[] = { "prog", "--interval-max", "5x", NULL };
	char *range[] = { "prog", "--miss-threshold=0", NULL };
	char *no_conf[] = { "prog", "--config", NULL };
	struct settings s;
	struct config_error err;

	cr_assert_eq(config_load(&spec, &s, 2, missing, NULL, &err),
	             HBMON_EINVAL);
	cr_assert_str_eq(err.text, "--listen: needs a value");
	cr_assert_eq(config_load(&spec, &s, 3, swallow, NULL, &err),
	             HBMON_EINVAL);
	cr_assert_str_eq(err.text, "--listen: needs a value");
	cr_assert_eq(config_load(&spec, &s, 3, bad, NULL, &err), HBMON_EINVAL);
	cr_assert_str_eq(err.text,
	                 "--interval-max: '5x': unit 'x' is not one of ms, s, "
	                 "m, h, d");
	cr_assert_eq(config_load(&spec, &s, 2, range, NULL, &err),
	             HBMON_ERANGE);
	cr_assert_str_eq(err.text,
	                 "--miss-threshold: '0' is out of range 1..100");
	cr_assert_eq(config_load(&spec, &s, 2, no_conf, NULL, &err),
	             HBMON_EINVAL);
}

Test(config, missing_file_gives_enoent_with_path)
{
	char path[160];
	char conf[200];
	char *argv[] = { "prog", conf, NULL };
	struct settings s = load_defaults();
	struct config_error err;

	snprintf(path, sizeof(path), "%s/nope.ini", tmpdir);
	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_ENOENT);
	cr_assert_not_null(strstr(err.text, path), "%s", err.text);
	cr_assert_not_null(strstr(err.text, "No such file"), "%s", err.text);

	snprintf(conf, sizeof(conf), "--config=%s", path);
	cr_assert_eq(config_load(&spec, &s, 2, argv, NULL, &err), HBMON_ENOENT);
	cr_assert_not_null(strstr(err.text, path), "%s", err.text);
}

/* --- bad lines --------------------------------------------------------- */

struct bad_line {
	const char *content;
	int line;
	int rv;
	const char *reason; /* the text after "FILE:LINE: " */
};

static const struct bad_line bad_lines[] = {
	/* syntax error: a line without '=' */
	{ "; ok\nmiss_threshold = 3\n\nlisten tcp://x\n", 4, HBMON_EINVAL,
	  "expected 'key = value', '[section]' or a comment" },
	{ "[server]\n  miss_threshold = 3\n  oops\n", 3, HBMON_EINVAL,
	  "expected 'key = value', '[section]' or a comment" },
	/* section headers */
	{ "\n\n[telegram\nchat_id = 1\n", 3, HBMON_EINVAL,
	  "section header has no closing ']'" },
	{ "[telegram ; ]\n", 1, HBMON_EINVAL,
	  "section header has no closing ']'" },
	{ "miss_threshold = 3\n[smtp]\nhost = x\n", 2, HBMON_EINVAL,
	  "unknown section [smtp]; sections are: server, telegram" },
	{ "[server] extra\n", 1, HBMON_EINVAL,
	  "unexpected text after section header" },
	{ "miss_threshold = 3\n  [telegram]\nchat_id = 1\n", 2, HBMON_EINVAL,
	  "indented section header after a key is read as part of the key's "
	  "value; remove the indentation" },
	/* keys */
	{ "\nbogus = 1\n", 2, HBMON_EINVAL, "unknown key 'bogus'" },
	{ "[telegram]\nchat_id = 1\nchatid = 2\n", 3, HBMON_EINVAL,
	  "unknown key 'chatid' in section [telegram]" },
	{ "telegram.chat_id = 1\n", 1, HBMON_EINVAL,
	  "unknown key 'telegram.chat_id'" },
	{ "[server]\nchat_id = 1\n", 2, HBMON_EINVAL,
	  "unknown key 'chat_id' in section [server]" },
	/* values */
	{ "miss_threshold = three\n", 1, HBMON_EINVAL,
	  "miss_threshold: 'three' is not a whole number" },
	{ "miss_threshold = -1\n", 1, HBMON_EINVAL,
	  "miss_threshold: '-1' is not a whole number" },
	{ "miss_threshold = 3.5\n", 1, HBMON_EINVAL,
	  "miss_threshold: '3.5' is not a whole number" },
	{ "miss_threshold =\n", 1, HBMON_EINVAL,
	  "miss_threshold: '' is not a whole number" },
	{ "; c\nmiss_threshold = 101\n", 2, HBMON_ERANGE,
	  "miss_threshold: '101' is out of range 1..100" },
	{ "retries = 4294967296\n", 1, HBMON_ERANGE,
	  "retries: '4294967296' is out of range 0..4294967295" },
	{ "retries = 99999999999999999999999\n", 1, HBMON_ERANGE,
	  "retries: '99999999999999999999999' is out of range 0..4294967295" },
	{ "\ninterval_max = 5x\n", 2, HBMON_EINVAL,
	  "interval_max: '5x': unit 'x' is not one of ms, s, m, h, d" },
	{ "interval_max = 90\n", 1, HBMON_EINVAL,
	  "interval_max: '90': needs a unit, e.g. 90s" },
	{ "interval_max = 50ms\n", 1, HBMON_ERANGE,
	  "interval_max: '50ms' is out of range 100ms..1d" },
	{ "recv_max = 12q\n", 1, HBMON_EINVAL,
	  "recv_max: '12q' is not a size, e.g. 4096, 512k, 1MiB" },
	{ "recv_max = 1.5M\n", 1, HBMON_EINVAL,
	  "recv_max: '1.5M' is not a size, e.g. 4096, 512k, 1MiB" },
	{ "recv_max = 17M\n", 1, HBMON_ERANGE,
	  "recv_max: '17M' is out of range 1024..16777216 bytes" },
	{ "recv_max = 99999999999T\n", 1, HBMON_ERANGE,
	  "recv_max: '99999999999T' is out of range 1024..16777216 bytes" },
	{ "verbose = maybe\n", 1, HBMON_EINVAL,
	  "verbose: 'maybe' is not one of true, false, yes, no, on, off, 1, "
	  "0" },
	{ "\n\ndurability = fast\n", 3, HBMON_EINVAL,
	  "durability: 'fast' is not one of normal, full" },
	{ "[telegram]\nchat_id = 1234567890123456\n", 2, HBMON_ERANGE,
	  "telegram.chat_id: value is 16 bytes long, at most 15 fit" },
	/* twice, also across the top level and [server] */
	{ "miss_threshold = 3\n\n; again\nmiss_threshold = 4\n", 4,
	  HBMON_EINVAL, "miss_threshold: given twice (first on line 1)" },
	{ "\nmiss_threshold = 3\n[server]\nmiss_threshold = 3\n", 4,
	  HBMON_EINVAL, "miss_threshold: given twice (first on line 2)" },
	{ "[telegram]\nchat_id = 1\n  chat_id = 2\n", 3, HBMON_EINVAL,
	  "telegram.chat_id: given twice (first on line 2)" },
	/* the first error wins, later ones are not read */
	{ "verbose = 1\nbogus\nverbose = 2\n", 2, HBMON_EINVAL,
	  "expected 'key = value', '[section]' or a comment" },
};

Test(config, every_bad_line_names_file_and_line)
{
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		const struct bad_line *b = &bad_lines[i];
		char name[32], want[512];
		struct settings s = load_defaults();
		struct config_error err = { .text = "" };
		const char *path;

		snprintf(name, sizeof(name), "bad%zu.ini", i);
		path = write_file(name, b->content);
		cr_assert_eq(config_load_file(&spec, &s, path, &err), b->rv,
		             "case %zu: %s", i, err.text);
		snprintf(want, sizeof(want), "%s:%d: %s", path, b->line,
		         b->reason);
		cr_assert_str_eq(err.text, want, "case %zu: got %s", i,
		                 err.text);
		unlink(path);
		n_paths--;
	}
}

Test(config, long_line_and_nul_byte)
{
	char content[400];
	struct settings s = load_defaults();
	struct config_error err;
	const char *path;
	char want[300];

	/* inih's buffer is 200 bytes; the line after must keep its number. */
	snprintf(content, sizeof(content), "verbose = 1\nlisten = %0250d\n", 0);
	path = write_file("long.ini", content);
	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_EINVAL);
	snprintf(want, sizeof(want), "%s:2: line is longer than 198 characters",
	         path);
	cr_assert_str_eq(err.text, want);

	path = write_file("nul.ini", "verbose = 1\n");
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fwrite("listen = a\0b\n", 1, 13, f);
	fclose(f);
	cr_assert_eq(config_load_file(&spec, &s, path, &err), HBMON_EINVAL);
	snprintf(want, sizeof(want), "%s:2: line contains a NUL byte", path);
	cr_assert_str_eq(err.text, want);
}

Test(config, line_of_198_characters_fits)
{
	char content[400];
	struct config_key k = keys[0];
	char big[256];
	struct config_spec one = { .keys = &k, .n_keys = 1 };
	struct config_error err;
	const char *path;

	k.offset = 0;
	k.size = sizeof(big);
	/* "data_dir = " is 11 characters, plus 187 makes 198. */
	snprintf(content, sizeof(content), "data_dir = %0187d\n", 0);
	path = write_file("fits.ini", content);
	cr_assert_eq(config_load_file(&one, big, path, &err), HBMON_OK, "%s",
	             err.text);
	cr_assert_eq(strlen(big), 187);
}

/* --- config_set, config_get_text, help --------------------------------- */

Test(config, set_names_origin_and_key)
{
	struct settings s = load_defaults();
	struct config_error err;

	cr_assert_eq(config_set(&spec, &s, "nope", "1", "x.ini:3", &err),
	             HBMON_ENOENT);
	cr_assert_str_eq(err.text, "x.ini:3: unknown key 'nope'");
	cr_assert_eq(config_set(&spec, &s, "miss_threshold", "x", NULL, &err),
	             HBMON_EINVAL);
	cr_assert_str_eq(err.text, "miss_threshold: 'x' is not a whole number");
	cr_assert_eq(config_set(&spec, &s, "miss_threshold", "x",
	                        "HBMON_TEST_MISS_THRESHOLD", &err),
	             HBMON_EINVAL);
	cr_assert_str_eq(
	    err.text, "HBMON_TEST_MISS_THRESHOLD: 'x' is not a whole number");
	/* A secret that is too long is not echoed. */
	cr_assert_eq(config_set(&spec, &s, "telegram.token",
	                        "secret-secret-secret-secret-secret-secret-"
	                        "secret-secret",
	                        "--telegram-token", &err),
	             HBMON_ERANGE);
	cr_assert_null(strstr(err.text, "secret"), "%s", err.text);
	cr_assert_str_eq(s.token, "");
}

Test(config, value_words)
{
	static const struct {
		const char *text;
		bool value;
	} bools[] = { { "true", true }, { "FALSE", false }, { "yes", true },
		      { "No", false },  { "on", true },     { "off", false },
		      { "1", true },    { "0", false } };
	static const struct {
		const char *text;
		uint64_t bytes;
	} sizes[] = { { "4096", 4096 },        { "1024B", 1024 },
		      { "512k", 524288 },      { "512K", 524288 },
		      { "2KB", 2048 },         { "2KiB", 2048 },
		      { "1M", 1048576 },       { "1MiB", 1048576 },
		      { "16MB", 16777216 },    { "0", 0 },
		      { "1G", 1073741824ull }, { "1TiB", 1099511627776ull } };
	struct config_key k[] = { keys[5], keys[6] };
	struct config_spec sp = { .keys = k, .n_keys = 2 };
	struct settings s;
	struct config_error err;

	k[0].min = k[0].max = 0; /* recv_max without bounds */
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		s.verbose = !bools[i].value;
		cr_assert_eq(
		    config_set(&sp, &s, "verbose", bools[i].text, NULL, &err),
		    HBMON_OK, "%s", bools[i].text);
		cr_assert_eq(s.verbose, bools[i].value, "%s", bools[i].text);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_eq(
		    config_set(&sp, &s, "recv_max", sizes[i].text, NULL, &err),
		    HBMON_OK, "%s: %s", sizes[i].text, err.text);
		cr_assert_eq(s.recv_max, sizes[i].bytes, "%s", sizes[i].text);
	}
	cr_assert_eq(config_set(&sp, &s, "recv_max", "16777216T", NULL, &err),
	             HBMON_ERANGE);
	cr_assert_eq(config_set(&sp, &s, "recv_max", "1kk", NULL, &err),
	             HBMON_EINVAL);
	cr_assert_eq(config_set(&sp, &s, "recv_max", "k", NULL, &err),
	             HBMON_EINVAL);
}

Test(config, get_text_round_trips)
{
	struct settings s = load_defaults(), back;
	struct config_error err;
	char buf[128];

	cr_assert_eq(config_set(&spec, &s, "interval_max", "1h30m", NULL, &err),
	             HBMON_OK);
	cr_assert_eq(config_set(&spec, &s, "recv_max", "3MiB", NULL, &err),
	             HBMON_OK);
	cr_assert_eq(config_set(&spec, &s, "durability", "full", NULL, &err),
	             HBMON_OK);
	cr_assert_eq(config_set(&spec, &s, "verbose", "on", NULL, &err),
	             HBMON_OK);
	cr_assert_eq(
	    config_set(&spec, &s, "telegram.chat_id", "-5", NULL, &err),
	    HBMON_OK);
	memset(&back, 0, sizeof(back));
	for (size_t i = 0; i < spec.n_keys; i++) {
		cr_assert_eq(
		    config_get_text(&spec, &s, keys[i].name, buf, sizeof(buf)),
		    HBMON_OK, "%s", keys[i].name);
		cr_assert_eq(
		    config_set(&spec, &back, keys[i].name, buf, NULL, &err),
		    HBMON_OK, "%s = %s: %s", keys[i].name, buf, err.text);
	}
	cr_assert_eq(memcmp(&s.miss_threshold, &back.miss_threshold,
	                    sizeof(s.miss_threshold)),
	             0);
	cr_assert_str_eq(back.data_dir, s.data_dir);
	cr_assert_str_eq(back.listen, s.listen);
	cr_assert_eq(back.interval_max, 5400000);
	cr_assert_eq(back.recv_max, 3145728);
	cr_assert_eq(back.verbose, true);
	cr_assert_eq(back.durability, 1);
	cr_assert_str_eq(back.chat_id, "-5");

	cr_assert_eq(
	    config_get_text(&spec, &s, "interval_max", buf, sizeof(buf)),
	    HBMON_OK);
	cr_assert_str_eq(buf, "1h30m");
	cr_assert_eq(config_get_text(&spec, &s, "recv_max", buf, sizeof(buf)),
	             HBMON_OK);
	cr_assert_str_eq(buf, "3145728");
	cr_assert_eq(config_get_text(&spec, &s, "listen", buf, 5),
	             HBMON_ENOMEM);
	cr_assert_eq(strlen(buf), 4);
	cr_assert_eq(config_get_text(&spec, &s, "nope", buf, sizeof(buf)),
	             HBMON_ENOENT);
	s.durability = 7;
	cr_assert_eq(config_get_text(&spec, &s, "durability", buf, sizeof(buf)),
	             HBMON_EINVAL);
}

Test(config, help_lists_every_key)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	static const char *const want[] = {
		"--config FILE",
		"--data-dir TEXT",
		"where data is kept (default ./var) [env HBMON_TEST_DATA_DIR]",
		"--listen TEXT",
		"--miss-threshold N",
		"--retries N",
		"--interval-max DURATION",
		"--recv-max SIZE",
		"--verbose[=BOOL]",
		"--durability normal|full",
		"--telegram-chat-id TEXT",
		"--telegram-token TEXT",
	};
	int lines = 0;

	cr_assert_not_null(f);
	config_print_help(&spec, f);
	cr_assert_eq(fclose(f), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_not_null(strstr(text, want[i]), "%s missing in\n%s",
		                   want[i], text);
	}
	for (size_t i = 0; i < spec.n_keys; i++) {
		cr_assert_not_null(strstr(text, keys[i].help), "%s",
		                   keys[i].help);
	}
	for (const char *p = text; *p != '\0'; p++) {
		lines += *p == '\n';
	}
	cr_assert_eq(lines, (int) spec.n_keys + 1);
	free(text);
}
