/* log_test: the exact shape of logfmt lines on stderr, quoting, levels and
 * truncation. stderr is pointed at a temporary file around each call. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "hbmon/error.h"

TestSuite(log, .timeout = 10);

static FILE *capture_file;
static int saved_stderr = -1;

static void
capture_start(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	cr_assert_not_null(capture_file);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_geq(dup2(fileno(capture_file), STDERR_FILENO), 0);
}

/* Returns everything written to stderr since capture_start; free() it. */
static char *
capture_end(void)
{
	long size;
	char *text;

	cr_assert_geq(dup2(saved_stderr, STDERR_FILENO), 0);
	close(saved_stderr);
	size = lseek(fileno(capture_file), 0, SEEK_END);
	cr_assert_geq(size, 0);
	text = calloc(1, (size_t) size + 1);
	cr_assert_not_null(text);
	cr_assert_eq(pread(fileno(capture_file), text, (size_t) size, 0), size);
	fclose(capture_file);
	return text;
}

/* Calls log_vwrite without the printf format check, for NULL and empty
 * templates the compiler would warn about. */
static void
write_unchecked(enum log_level level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vwrite(level, msg, fields, ap);
	va_end(ap);
}

/* Checks "ts=YYYY-MM-DDTHH:MM:SS.mmmZ " and returns what follows. */
static const char *
after_ts(const char *line)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";

	cr_assert_eq(strncmp(line, "ts=", 3), 0, "%s", line);
	line += 3;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd') {
			cr_assert(line[i] >= '0' && line[i] <= '9', "%s", line);
		} else {
			cr_assert_eq(line[i], shape[i], "%s", line);
		}
	}
	return line + sizeof(shape) - 1;
}

Test(log, line_shape)
{
	char *out;

	capture_start();
	log_write(LOG_INFO, "hello world", "robot=%s n=%d", "R 1", 42);
	out = capture_end();
	cr_assert_str_eq(after_ts(out),
	                 "level=info msg=\"hello world\" robot=\"R 1\" n=42\n");
	free(out);
}

Test(log, plain_values_are_not_quoted)
{
	char *out;

	capture_start();
	log_warn("auth disabled", "listen=%s robot=%s", "tcp://0.0.0.0:7600",
	         "r-1");
	out = capture_end();
	cr_assert_str_eq(after_ts(out),
	                 "level=warn msg=\"auth disabled\" "
	                 "listen=tcp://0.0.0.0:7600 robot=r-1\n");
	free(out);
}

Test(log, quoting_and_escaping)
{
	static const struct {
		const char *value;
		const char *written;
	} cases[] = {
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "C:\\dir", "\"C:\\\\dir\"" },
		{ "a\nb", "\"a\\nb\"" },
		{ "a\r\tb", "\"a\\r\\tb\"" },
		{ "k=v", "\"k=v\"" },
		{ "\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\"" },
		{ "", "\"\"" },
		/* No byte >= 0x80 from a peer reaches the log raw. */
		{ "caf\xc3\xa9", "\"caf\\u00e9\"" },
		{ "R1\xff", "\"R1\\xff\"" },
		{ "\xf0\x9f\x93\x88", "\"\\U0001f4c8\"" },
		{ "\x1b[2J", "\"\\x1b[2J\"" },
		{ "\xe2\x80\xae", "\"\\u202e\"" },
		{ "ok", "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[128];
		char *out;

		capture_start();
		log_info("x", "v=%s", cases[i].value);
		out = capture_end();
		snprintf(want, sizeof(want), "level=info msg=x v=%s\n",
		         cases[i].written);
		cr_assert_str_eq(after_ts(out), want, "case %zu", i);
		free(out);
	}
}

Test(log, msg_is_quoted_too)
{
	char *out, *second;

	capture_start();
	log_error("bad \"thing\"", "%s", "x");
	log_info("started", "%s", "y");
	out = capture_end();
	second = strchr(out, '\n');
	cr_assert_not_null(second, "%s", out);
	*second++ = '\0';
	cr_assert_str_eq(after_ts(out),
	                 "level=error msg=\"bad \\\"thing\\\"\" x");
	cr_assert_str_eq(after_ts(second), "level=info msg=started y\n");
	free(out);
}

Test(log, null_and_empty_fields)
{
	char *out;
	const char *lines[4];
	char *p;

	capture_start();
	write_unchecked(LOG_INFO, "no fields", NULL);
	write_unchecked(LOG_INFO, "empty fields", "");
	write_unchecked(LOG_INFO, "null value", "robot=%s",
	                (const char *) NULL);
	write_unchecked(LOG_INFO, NULL, NULL);
	out = capture_end();
	p = out;
	for (int i = 0; i < 4; i++) {
		char *nl = strchr(p, '\n');
		cr_assert_not_null(nl, "%s", out);
		*nl = '\0';
		lines[i] = after_ts(p);
		p = nl + 1;
	}
	cr_assert_str_eq(p, "");
	cr_assert_str_eq(lines[0], "level=info msg=\"no fields\"");
	cr_assert_str_eq(lines[1], "level=info msg=\"empty fields\"");
	cr_assert_str_eq(lines[2], "level=info msg=\"null value\" robot=\"\"");
	cr_assert_str_eq(lines[3], "level=info msg=\"\"");
	free(out);
}

Test(log, printf_conversions_pass_through)
{
	char want[256];
	char *out;
	long long big = -1234567890123LL;
	size_t sz = 77;
	signed char small = -5;
	void *ptr = &sz;

	capture_start();
	log_info("conv",
	         "a=%5d b=%-3d| c=%05.1f d=%#x e=%lu f=%lld g=%zu h=%hhd "
	         "i=%*d j=%.*s k=%% l=%p m=%e n=%.3Lf o=%o p=%c",
	         42, 7, 3.14159, 255u, 123456789UL, big, sz, small, 4, 9, 3,
	         "hello", ptr, 1e10, (long double) 2.5, 8u, 'z');
	out = capture_end();
	snprintf(
	    want, sizeof(want),
	    "level=info msg=conv a=   42 b=7  | c=003.1 d=0xff e=123456789 "
	    "f=-1234567890123 g=77 h=-5 i=   9 j=hel k=%% l=%p "
	    "m=1.000000e+10 n=2.500 o=10 p=z\n",
	    ptr);
	cr_assert_str_eq(after_ts(out), want);
	free(out);
}

Test(log, string_width_and_precision)
{
	char *out;

	capture_start();
	log_info("w", "a=%-6s b=%6s c=%.2s d=%c e=%c", "hi", "hi", "x y", ' ',
	         '"');
	out = capture_end();
	cr_assert_str_eq(after_ts(out),
	                 "level=info msg=w a=\"hi    \" "
	                 "b=\"    hi\" c=\"x \" d=\" \" e=\"\\\"\"\n");
	free(out);
}

Test(log, errno_conversion_and_preservation)
{
	char *out;

	capture_start();
	errno = ENOENT;
	log_warn("open failed", "err=%m path=%s", "/x");
	cr_assert_eq(errno, ENOENT);
	out = capture_end();
	cr_assert_str_eq(after_ts(out),
	                 "level=warn msg=\"open failed\" "
	                 "err=\"No such file or directory\" path=/x\n");
	free(out);
}

Test(log, control_characters_in_template_do_not_end_the_line)
{
	char *out;

	capture_start();
	log_info("t", "a=1\nb=%d", 2);
	out = capture_end();
	cr_assert_str_eq(after_ts(out), "level=info msg=t a=1 b=2\n");
	free(out);
}

Test(log, level_filtering)
{
	char *out;

	capture_start();
	log_debug("hidden by default", "%s", "x");
	log_set_level(LOG_WARN);
	log_info("hidden", "%s", "x");
	log_warn("shown warn", "%s", "x");
	log_error("shown error", "%s", "x");
	log_set_level(LOG_DEBUG);
	log_debug("shown debug", "%s", "x");
	out = capture_end();
	cr_assert_null(strstr(out, "hidden"), "%s", out);
	cr_assert_not_null(strstr(out, "level=warn msg=\"shown warn\""));
	cr_assert_not_null(strstr(out, "level=error msg=\"shown error\""));
	cr_assert_not_null(strstr(out, "level=debug msg=\"shown debug\""));
	free(out);
}

Test(log, level_words_parse)
{
	enum log_level level = LOG_INFO;

	for (int i = 0; log_level_words[i] != NULL; i++) {
		cr_assert_eq(log_level_parse(log_level_words[i], &level),
		             HBMON_OK);
		cr_assert_eq((int) level, i);
	}
	cr_assert_str_eq(log_level_words[LOG_WARN], "warn");
	level = LOG_ERROR;
	cr_assert_eq(log_level_parse("warning", &level), HBMON_EINVAL);
	cr_assert_eq(log_level_parse("INFO", &level), HBMON_EINVAL);
	cr_assert_eq(log_level_parse("", &level), HBMON_EINVAL);
	cr_assert_eq(level, LOG_ERROR);
}

/* One line, at most PIPE_BUF bytes, ending as the header says. */
static void
assert_one_truncated_line(const char *out, const char *end)
{
	size_t len = strlen(out);

	cr_assert_leq(len, PIPE_BUF);
	cr_assert_gt(len, PIPE_BUF - 16);
	cr_assert_eq(strchr(out, '\n'), out + len - 1, "more than one line");
	cr_assert_eq(strcmp(out + len - strlen(end), end), 0, "ends %s",
	             out + len - 40);
}

Test(log, long_line_is_truncated_to_one_line)
{
	size_t n = 3 * PIPE_BUF;
	char *plain = malloc(n + 1), *quoted = malloc(n + 1);
	char *out;

	cr_assert_not_null(plain);
	cr_assert_not_null(quoted);
	memset(plain, 'x', n);
	plain[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		quoted[i] = "a \"\n"[i % 4];
	}
	quoted[n] = '\0';

	capture_start();
	log_info("long", "v=%s after=%d", plain, 1);
	out = capture_end();
	assert_one_truncated_line(out, "xxx truncated=true\n");
	free(out);

	capture_start();
	log_info("long", "v=%s after=%d", quoted, 1);
	out = capture_end();
	assert_one_truncated_line(out, "\" truncated=true\n");
	cr_assert_null(strstr(out, "after="));
	free(out);

	capture_start();
	log_info("long", "v=%5000d", 1);
	out = capture_end();
	assert_one_truncated_line(out, " truncated=true\n");
	free(out);

	free(plain);
	free(quoted);
}

Test(log, truncation_keeps_escapes_whole)
{
	size_t n = 2 * PIPE_BUF;
	char *text = malloc(n + 1);
	char *out;
	size_t len;

	cr_assert_not_null(text);
	for (size_t i = 0; i + 3 <= n; i += 3) {
		memcpy(text + i, "\xe2\x82\xac", 3); /* the euro sign */
	}
	text[n - n % 3] = '\0';
	for (int shift = 0; shift < 6; shift++) {
		char msg[8] = "m";
		memset(msg, 'm', (size_t) shift + 1);
		msg[shift + 1] = '\0';
		capture_start();
		log_info(msg, "v=%s", text);
		out = capture_end();
		len = strlen(out);
		cr_assert_eq(strcmp(out + len - 16, " truncated=true\n"), 0);
		/* before the tail and the closing quote: a whole escape */
		cr_assert_eq(memcmp(out + len - 23, "\\u20ac\"", 7), 0,
		             "shift %d: %s", shift, out + len - 40);
		for (size_t i = 0; i < len; i++) {
			cr_assert((unsigned char) out[i] < 0x80,
			          "raw byte at %zu", i);
		}
		free(out);
	}
	free(text);
}

static void *
log_many(void *arg)
{
	for (int i = 0; i < 200; i++) {
		log_info("from thread", "thread=%d i=%d pad=%s",
		         (int) (intptr_t) arg, i,
		         "padding padding padding padding padding");
	}
	return NULL;
}

Test(log, threads_do_not_interleave_lines)
{
	pthread_t threads[4];
	char *out, *line, *save = NULL;
	int count = 0;

	capture_start();
	for (intptr_t i = 0; i < 4; i++) {
		cr_assert_eq(
		    pthread_create(&threads[i], NULL, log_many, (void *) i), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
	}
	out = capture_end();
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *rest = after_ts(line);
		cr_assert_eq(
		    strncmp(rest, "level=info msg=\"from thread\" thread=", 36),
		    0, "%s", line);
		cr_assert_not_null(strstr(rest,
		                          " pad=\"padding padding padding "
		                          "padding padding\""));
		count++;
	}
	cr_assert_eq(count, 800);
	free(out);
}
