/*
 * Settings for hbmon programs from, in increasing precedence: built-in
 * defaults, an INI file (--config FILE, parsed by libinih), environment
 * variables named by the key, and command-line flags. One table of keys
 * drives all four, so a key `miss_threshold` is also `--miss-threshold 3`.
 *
 * Settings live in a plain struct owned by the program; the table says
 * where each key is stored (offsetof) and how to parse it. Strings are
 * fixed-size char arrays inside that struct, so nothing needs freeing.
 *
 * Every error names where the bad value came from, e.g.
 * "server.ini:12: miss_threshold: 'three' is not a whole number" or
 * "--interval-max: '5x': unit 'x' is not one of ms, s, m, h, d".
 * String values are never quoted back in errors: they may be secrets.
 *
 * The INI file: "key = value" (or "key: value") lines, [section] headers,
 * comments on lines starting with ';' or '#', and after " ;" at the end of
 * a line. Indentation is ignored; no value continues onto the next line
 * (inih would read an indented line as one, so it is split like any other
 * line instead). Lines are at most 198 characters (inih's buffer).
 */
#ifndef HBMON_COMMON_CONFIG_H
#define HBMON_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_STRING,   /* char[size] at offset */
	CONFIG_UINT,     /* uint32_t, bounds min..max */
	CONFIG_DURATION, /* int64_t milliseconds ("90s"), bounds min..max */
	CONFIG_SIZE,     /* uint64_t bytes ("1MiB", "512k", "4096"), bounds;
	                  * units B, k, M, G, T, each also as kB or KiB, are
	                  * all binary: 1k = 1KB = 1KiB = 1024 */
	CONFIG_BOOL,     /* bool: true/false, yes/no, on/off, 1/0, any case */
	CONFIG_ENUM,     /* int index into choices; words match exactly */
};

struct config_key {
	/* "miss_threshold", or "section.key" for a key in [section] of the
	 * INI file ("telegram.chat_id" <-> --telegram-chat-id). */
	const char *name;
	enum config_type type;
	size_t offset;    /* offsetof(settings struct, field) */
	size_t size;      /* CONFIG_STRING: sizeof the char array */
	const char *def;  /* default, written as in a file; NULL: empty/0 */
	int64_t min, max; /* numeric bounds; both 0: no bounds */
	const char *const *choices; /* CONFIG_ENUM: NULL-terminated words */
	const char *env;            /* environment variable, or NULL */
	const char *help;           /* one line for --help */
};

/* Where a program's keys are described. */
struct config_spec {
	const struct config_key *keys;
	size_t n_keys;
	/* Keys without a dot may also appear in this INI section, e.g.
	 * "server" allows a [server] header; NULL: only before any section. */
	const char *section;
};

/*
 * Parses a size as CONFIG_SIZE keys take it ("4096", "512k", "1MiB"; the
 * units are binary) into out. Returns HBMON_OK, HBMON_EINVAL (not a size)
 * or HBMON_ERANGE (too large). Thread-safe, no allocation.
 */
int config_parse_size(const char *s, uint64_t *out);

/* Room for one error sentence, file:line included. */
struct config_error {
	char text[512];
};

/*
 * Sets every key to its default. Returns HBMON_OK, or HBMON_EINVAL if a
 * default in the table does not parse (a bug in the table; err says
 * which). No allocation; not thread-safe with respect to settings.
 */
int config_defaults(const struct config_spec *spec, void *settings,
                    struct config_error *err);

/*
 * Reads an INI file into settings. Errors name file and line: syntax
 * errors, unknown sections and keys, bad values, and a key given twice
 * (with the line of the first). Reading stops at the first error; settings
 * may hold values from lines before the bad one, and callers stop start-up.
 * Returns HBMON_OK, HBMON_ENOENT (cannot open; err has the system's
 * reason), HBMON_EIO (a read failed), HBMON_ENOMEM, HBMON_EINVAL, or
 * HBMON_ERANGE (a value outside its key's bounds, or a string too long).
 */
int config_load_file(const struct config_spec *spec, void *settings,
                     const char *path, struct config_error *err);

/*
 * Applies the environment variables named in the table, where set and
 * not empty (an empty variable counts as unset). Stops at the first bad
 * value. Returns HBMON_OK, HBMON_EINVAL or HBMON_ERANGE (err names the
 * variable).
 */
int config_load_env(const struct config_spec *spec, void *settings,
                    struct config_error *err);

/*
 * Sets one key from text. name: a key name ("miss_threshold",
 * "telegram.chat_id"). origin: how errors name the source, e.g.
 * "--miss-threshold" or "server.ini:12"; NULL: none. Errors read
 * "ORIGIN: KEY: reason", without KEY when origin is a flag ("--...") or the
 * key's environment variable, which name the key already. settings is
 * untouched on error. Returns HBMON_OK, HBMON_ENOENT for an unknown key, or
 * HBMON_EINVAL / HBMON_ERANGE for a bad value (ERANGE: outside the key's
 * bounds, or a string longer than its array holds).
 */
int config_set(const struct config_spec *spec, void *settings, const char *name,
               const char *value, const char *origin, struct config_error *err);

/*
 * The whole sequence a program runs at start-up: defaults, the file named
 * by --config FILE (or --config=FILE) if any, the environment, then every
 * other flag in argv as --key VALUE or --key=VALUE ("-" and "_" are the
 * same in flag names; "--section-key" names "section.key"). A CONFIG_BOOL
 * flag may stand alone ("--verbose" means true) and never takes the next
 * argument as its value; use "--verbose=false". A value in the next argument
 * may not start with "--" (use --key=--value); a missing value is an
 * error. A flag given twice: the last one wins.
 *
 * argv[0] is skipped. Arguments that do not start with "--" and everything
 * after "--" are positional: they are moved, in order, to the front of
 * argv + 1 and their count is stored in *out_npos. Unknown flags are
 * errors.
 * Returns HBMON_OK, HBMON_ENOENT (config file), HBMON_EINVAL, or
 * HBMON_ERANGE, with err filled.
 */
int config_load(const struct config_spec *spec, void *settings, int argc,
                char **argv, int *out_npos, struct config_error *err);

/*
 * Writes one line per key to f for --help: flag, default, environment
 * variable and help text, after a line for --config.
 */
void config_print_help(const struct config_spec *spec, FILE *f);

/*
 * Formats the current value of a key as it would be written in a file
 * (durations as "90s", sizes in bytes); config_set reads it back to the
 * same value. buf is always NUL-terminated when buf_len > 0. Returns
 * HBMON_OK, HBMON_ENOENT, HBMON_ENOMEM when buf is too small, or
 * HBMON_EINVAL when the stored value is not one the key can hold (an enum
 * index out of range).
 */
int config_get_text(const struct config_spec *spec, const void *settings,
                    const char *name, char *buf, size_t buf_len);

/*
 * Writes the value of every key to f as an INI file would hold it: keys
 * without a section first ("key = value"), then each section's keys under
 * its "[section]" header. For `--check-config`. Strings are written as
 * they are: no key holds a secret (only the files that do).
 */
void config_print_values(const struct config_spec *spec, const void *settings,
                         FILE *f);

/*
 * Removes every argv[i] equal to flag (before a "--") from argv, moving
 * the rest down and keeping argv[*argc] NULL. Returns whether there was
 * one. For flags that are not keys, such as --check-config.
 */
bool config_take_flag(int *argc, char **argv, const char *flag);

/*
 * Fills an empty URL setting with ipc://DIR/FILE, the default place of a
 * socket in a data dir; a URL already set is left alone. key names the
 * setting in err. Returns HBMON_OK or HBMON_EINVAL (the path does not fit
 * url_len).
 */
int config_default_ipc_url(char *url, size_t url_len, const char *dir,
                           const char *file, const char *key,
                           struct config_error *err);

#endif
