/*
 * test_config.c - `pacsd serve` options: defaults, precedence (file < env <
 * flags), every type's errors naming their source, remote AEs, --help,
 * unknown keys and flags, and out-of-memory at every allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes `text` to a fresh temp file; the caller unlinks `path`. */
static void write_tmp(char *path, size_t n, const char *text)
{
	int fd;
	size_t len = strlen(text);

	snprintf(path, n, "/tmp/pacsd-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Loads and expects failure with `st`; returns the message. */
static const char *load_fail(struct pc_err *err, enum pc_status st, int argc,
			     char **argv, char **envp)
{
	struct pc_config cfg;

	pc_err_clear(err);
	assert_int_equal(pc_config_load(&cfg, argc, argv, envp, err), st);
	assert_int_equal(err->status, st);
	pc_config_cleanup(&cfg);
	return err->msg;
}

static void defaults(void **state)
{
	struct pc_config cfg;
	struct pc_err err = {0};

	(void)state;
	assert_int_equal(pc_config_load(&cfg, 0, NULL, NULL, &err), PC_OK);
	assert_false(cfg.help);
	assert_null(cfg.config_file);
	assert_string_equal(cfg.data_dir, "./pacsd-data");
	assert_string_equal(cfg.http.host, "127.0.0.1");
	assert_int_equal(cfg.http.port, 8080);
	assert_string_equal(cfg.dicom.host, "127.0.0.1");
	assert_int_equal(cfg.dicom.port, 11112);
	assert_string_equal(cfg.aet, "PACSD");
	assert_int_equal(cfg.n_remote_aes, 0);
	assert_true(cfg.max_body == 1024ull * 1024 * 1024);
	assert_int_equal(cfg.n_cors_origins, 0);
	assert_false(cfg.allow_overwrite);
	assert_false(cfg.sync_each);
	assert_int_equal(cfg.qido_max_results, 1000);
	pc_config_cleanup(&cfg);
	pc_config_cleanup(&cfg); /* safe twice */
}

static const char full_file[] =
	"{\"data_dir\": \"/srv/pacs\", \"http\": \"0.0.0.0:80\","
	" \"dicom\": \"[::1]:104\", \"aet\": \" MYPACS \","
	" \"remote_aes\": {\"DEST\": {\"host\": \"10.0.0.5\", \"port\": 11115},"
	"                  \"V6\": {\"host\": \"::1\", \"port\": 4242},"
	"                  \"STR\": \":5555\"},"
	" \"max_body\": \"64M\", \"cors_origins\": [\"https://a\", \"*\"],"
	" \"allow_overwrite\": true, \"qido_max_results\": 50}";

static void file_only(void **state)
{
	char path[64];
	char *argv[] = {"--config", path};
	struct pc_config cfg;
	struct pc_err err = {0};
	const struct pc_config_remote_ae *ae;

	(void)state;
	write_tmp(path, sizeof(path), full_file);
	assert_int_equal(pc_config_load(&cfg, 2, argv, NULL, &err), PC_OK);
	assert_string_equal(cfg.config_file, path);
	assert_string_equal(cfg.data_dir, "/srv/pacs");
	assert_string_equal(cfg.http.host, "0.0.0.0");
	assert_int_equal(cfg.http.port, 80);
	assert_string_equal(cfg.dicom.host, "::1");
	assert_int_equal(cfg.dicom.port, 104);
	assert_string_equal(cfg.aet, "MYPACS");
	assert_int_equal(cfg.n_remote_aes, 3);
	ae = pc_config_find_remote_ae(&cfg, "DEST  ");
	assert_non_null(ae);
	assert_string_equal(ae->addr.host, "10.0.0.5");
	assert_int_equal(ae->addr.port, 11115);
	ae = pc_config_find_remote_ae(&cfg, "V6");
	assert_non_null(ae);
	assert_string_equal(ae->addr.host, "::1");
	ae = pc_config_find_remote_ae(&cfg, "STR");
	assert_non_null(ae);
	assert_string_equal(ae->addr.host, "127.0.0.1");
	assert_int_equal(ae->addr.port, 5555);
	assert_null(pc_config_find_remote_ae(&cfg, "NOPE"));
	assert_true(cfg.max_body == 64ull * 1024 * 1024);
	assert_int_equal(cfg.n_cors_origins, 2);
	assert_string_equal(cfg.cors_origins[0], "https://a");
	assert_string_equal(cfg.cors_origins[1], "*");
	assert_true(cfg.allow_overwrite);
	assert_int_equal(cfg.qido_max_results, 50);
	pc_config_cleanup(&cfg);
	unlink(path);
}

/* The calling-AE allow-list: flag, file key, and the host form. */
static void allowed_aes(void **state)
{
	char path[64];
	char *argv[] = {"--allowed-aes", "MOD1, WS@10.0.0.2"};
	struct pc_config cfg;
	struct pc_err err = {0};

	(void)state;
	assert_int_equal(pc_config_load(&cfg, 0, NULL, NULL, &err), PC_OK);
	assert_true(pc_config_ae_allowed(&cfg, "ANY", "127.0.0.1"));
	pc_config_cleanup(&cfg);

	assert_int_equal(pc_config_load(&cfg, 2, argv, NULL, &err), PC_OK);
	assert_int_equal(cfg.n_allowed_aes, 2);
	assert_true(pc_config_ae_allowed(&cfg, "MOD1", "192.168.1.9"));
	assert_true(pc_config_ae_allowed(&cfg, "WS", "10.0.0.2"));
	assert_false(pc_config_ae_allowed(&cfg, "WS", "10.0.0.3"));
	assert_false(pc_config_ae_allowed(&cfg, "MOD", "10.0.0.2"));
	assert_false(pc_config_ae_allowed(&cfg, "MOD12", "10.0.0.2"));
	pc_config_cleanup(&cfg);

	write_tmp(path, sizeof(path), "{\"allowed_aes\": [\"A\", \"B@::1\"]}");
	char *fargv[] = {"--config", path};
	assert_int_equal(pc_config_load(&cfg, 2, fargv, NULL, &err), PC_OK);
	assert_int_equal(cfg.n_allowed_aes, 2);
	assert_true(pc_config_ae_allowed(&cfg, "B", "::1"));
	assert_false(pc_config_ae_allowed(&cfg, "C", "::1"));
	pc_config_cleanup(&cfg);
	unlink(path);
}

static void precedence(void **state)
{
	char path[64], envcfg[80];
	char *envp[] = {envcfg, "PACSD_HTTP=:9000", "PACSD_DATA_DIR=/env",
			"PACSD_ALLOW_OVERWRITE=no", "PACSD_MAX_BODY=2k",
			"PACSD_CORS_ORIGINS= https://x , https://y,",
			"PACSD_REMOTE_AES=DEST=h1:1,OTHER=h2:2",
			"PACSD_SOURCE_DIR=/ignored", "HOME=/root", NULL};
	char *argv[] = {"--data-dir", "/flag", "--remote-ae", "DEST=h3:3",
			"--remote-ae=NEW=[fe80::1]:7", "--allow-overwrite",
			"--qido-max-results=7", "--aet", "FLAGAE"};
	struct pc_config cfg;
	struct pc_err err = {0};
	const struct pc_config_remote_ae *ae;

	(void)state;
	write_tmp(path, sizeof(path), full_file);
	snprintf(envcfg, sizeof(envcfg), "PACSD_CONFIG=%s", path);

	/* Environment over file (config file named by PACSD_CONFIG). */
	assert_int_equal(pc_config_load(&cfg, 0, NULL, envp, &err), PC_OK);
	assert_string_equal(cfg.data_dir, "/env");
	assert_string_equal(cfg.http.host, "127.0.0.1");
	assert_int_equal(cfg.http.port, 9000);
	assert_false(cfg.allow_overwrite);
	assert_false(cfg.sync_each);
	assert_true(cfg.max_body == 2048);
	assert_int_equal(cfg.n_cors_origins, 2);
	assert_string_equal(cfg.cors_origins[0], "https://x");
	assert_string_equal(cfg.cors_origins[1], "https://y");
	assert_int_equal(cfg.qido_max_results, 50); /* from the file */
	assert_int_equal(cfg.n_remote_aes, 4);
	ae = pc_config_find_remote_ae(&cfg, "DEST");
	assert_string_equal(ae->addr.host, "h1");
	pc_config_cleanup(&cfg);

	/* Flags over environment; --remote-ae adds and overrides by name. */
	assert_int_equal(pc_config_load(&cfg, 9, argv, envp, &err), PC_OK);
	assert_string_equal(cfg.data_dir, "/flag");
	assert_int_equal(cfg.http.port, 9000);
	assert_true(cfg.allow_overwrite);
	assert_int_equal(cfg.qido_max_results, 7);
	assert_string_equal(cfg.aet, "FLAGAE");
	assert_int_equal(cfg.n_remote_aes, 5);
	ae = pc_config_find_remote_ae(&cfg, "DEST");
	assert_string_equal(ae->addr.host, "h3");
	assert_int_equal(ae->addr.port, 3);
	ae = pc_config_find_remote_ae(&cfg, "NEW");
	assert_string_equal(ae->addr.host, "fe80::1");
	assert_int_equal(ae->addr.port, 7);
	ae = pc_config_find_remote_ae(&cfg, "OTHER");
	assert_string_equal(ae->addr.host, "h2");
	pc_config_cleanup(&cfg);
	unlink(path);
}

struct bad_case {
	const char *flag;  /* argv[0] */
	const char *value; /* argv[1] */
	const char *msg;   /* expected message */
};

static void flag_errors(void **state)
{
	static const struct bad_case cases[] = {
		{"--http", "127.0.0.1:70000",
		 "--http: port 70000 is out of range (1-65535)"},
		{"--http", "127.0.0.1:0",
		 "--http: port 0 is out of range (1-65535)"},
		{"--http", "localhost",
		 "--http: \"localhost\" has no port (expected HOST:PORT)"},
		{"--dicom", "::1:104",
		 "--dicom: IPv6 address in \"::1:104\" needs brackets "
		 "([::1]:PORT)"},
		{"--dicom", "[::1:104", "--dicom: \"[::1:104\" is not [IPv6]:PORT"},
		{"--http", "h:8x", "--http: port \"8x\" is not a number"},
		{"--aet", "ABCDEFGHIJKLMNOPQ",
		 "--aet: AE title \"ABCDEFGHIJKLMNOPQ\" must be 1-16 characters"},
		{"--aet", "A\\B",
		 "--aet: AE title \"A\\B\" contains a backslash, control or "
		 "non-ASCII character"},
		{"--aet", "    ", "--aet: AE title must not be all spaces"},
		{"--aet", "", "--aet: AE title \"\" must be 1-16 characters"},
		{"--allow-overwrite=maybe", NULL,
		 "--allow-overwrite: \"maybe\" is not a boolean (true/false, "
		 "yes/no, on/off, 1/0)"},
		{"--max-body", "12X",
		 "--max-body: \"12X\" is not a size (digits with an optional k, "
		 "M or G suffix)"},
		{"--max-body", "0", "--max-body: 0 is out of range "
				    "(1-18446744073709551615)"},
		{"--max-body", "99999999999999999999G",
		 "--max-body: 99999999999999999999G is out of range "
		 "(1-18446744073709551615)"},
		{"--max-body", "-1", "--max-body: \"-1\" is not a number"},
		{"--qido-max-results", "0",
		 "--qido-max-results: 0 is out of range (1-1000000)"},
		{"--qido-max-results", "5k",
		 "--qido-max-results: \"5k\" is not a number"},
		{"--data-dir", "", "--data-dir: must not be empty"},
		{"--remote-ae", "DEST", "--remote-ae: \"DEST\" is not "
					"AET=HOST:PORT"},
		{"--remote-ae", "DEST=h:99999",
		 "--remote-ae: port 99999 is out of range (1-65535)"},
		{"--cors-origins", "https://a b",
		 "--cors-origins: origin \"https://a b\" contains a space or "
		 "control character"},
		{"--htp", ":1", "unknown option --htp (see --help)"},
		{"serve", NULL, "unexpected argument \"serve\" (see --help)"},
		{"--http", NULL, "--http: missing value ADDR:PORT"},
	};
	struct pc_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[2] = {(char *)cases[i].flag, (char *)cases[i].value};
		int argc = cases[i].value ? 2 : 1;

		assert_string_equal(load_fail(&err, PC_INVAL, argc, argv,
					      NULL),
				    cases[i].msg);
	}
}

static void env_errors(void **state)
{
	char *e1[] = {"PACSD_HTTP=:70000", NULL};
	char *e2[] = {"PACSD_ALLOW_OVERWRITE=2", NULL};
	char *e3[] = {"PACSD_REMOTE_AES=A=h:1,B", NULL};
	char *e4[] = {"PACSD_AET=A\tB", NULL};
	struct pc_err err;

	(void)state;
	assert_string_equal(load_fail(&err, PC_INVAL, 0, NULL, e1),
			    "environment PACSD_HTTP: port 70000 is out of "
			    "range (1-65535)");
	assert_string_equal(load_fail(&err, PC_INVAL, 0, NULL, e2),
			    "environment PACSD_ALLOW_OVERWRITE: \"2\" is not a "
			    "boolean (true/false, yes/no, on/off, 1/0)");
	assert_string_equal(load_fail(&err, PC_INVAL, 0, NULL, e3),
			    "environment PACSD_REMOTE_AES: \"B\" is not "
			    "AET=HOST:PORT");
	assert_string_equal(load_fail(&err, PC_INVAL, 0, NULL, e4),
			    "environment PACSD_AET: AE title \"A\tB\" contains "
			    "a backslash, control or non-ASCII character");
}

static void file_errors(void **state)
{
	static const struct {
		const char *json;
		enum pc_status st;
		const char *msg; /* after "config file PATH: " */
	} cases[] = {
		{"{\"http\": \"127.0.0.1:70000\"}", PC_INVAL,
		 "\"http\": port 70000 is out of range (1-65535)"},
		{"{\"http\": 8080}", PC_INVAL,
		 "\"http\": expected a string, got an integer"},
		{"{\"allow_overwrite\": \"yes\"}", PC_INVAL,
		 "\"allow_overwrite\": expected true or false, got a string"},
		{"{\"qido_max_results\": -3}", PC_INVAL,
		 "\"qido_max_results\": \"-3\" is not a number"},
		{"{\"qido_max_results\": 1.5}", PC_INVAL,
		 "\"qido_max_results\": expected an integer, got a real number"},
		{"{\"max_body\": true}", PC_INVAL,
		 "\"max_body\": expected an integer or a string like \"1G\", got "
		 "a boolean"},
		{"{\"max_body\": 0}", PC_INVAL,
		 "\"max_body\": 0 is out of range (1-18446744073709551615)"},
		{"{\"cors_origins\": [1]}", PC_INVAL,
		 "\"cors_origins\": expected an array of strings, got an "
		 "integer"},
		{"{\"aet\": \"\"}", PC_INVAL,
		 "\"aet\": AE title \"\" must be 1-16 characters"},
		{"{\"remote_aes\": []}", PC_INVAL,
		 "\"remote_aes\": expected an object, got an array"},
		{"{\"remote_aes\": {\"D\": {\"host\": \"h\"}}}", PC_INVAL,
		 "\"remote_aes\": \"port\" is missing"},
		{"{\"remote_aes\": {\"D\": {\"port\": 1, \"hots\": \"h\"}}}",
		 PC_INVAL,
		 "\"remote_aes\": unknown key \"hots\" (expected \"host\", "
		 "\"port\")"},
		{"{\"remote_aes\": {\"D\": {\"port\": 70000}}}", PC_INVAL,
		 "\"remote_aes\": port 70000 is out of range (1-65535)"},
		{"{\"remote_aes\": {\"D\": {\"port\": \"1\"}}}", PC_INVAL,
		 "\"remote_aes\": expected an integer for \"port\", got a "
		 "string"},
		{"{\"remote_aes\": {\"A\\\\B\": {\"port\": 1}}}", PC_INVAL,
		 "\"remote_aes\": AE title \"A\\B\" contains a backslash, "
		 "control or non-ASCII character"},
		{"{\"htpp\": \":80\"}", PC_INVAL, "unknown key \"htpp\""},
		{"{\"config\": \"/x\"}", PC_INVAL, "unknown key \"config\""},
		{"[1]", PC_INVAL,
		 "line 1 column 1: expected an object at the top level, got an "
		 "array"},
		{"{\"http\": \":80\",\n \"aet\" \"X\"}", PC_PARSE,
		 "line 2 column 10: ':' expected near '\"X\"'"},
		{"{\"aet\": \"A\", \"aet\": \"B\"}", PC_PARSE,
		 "line 1 column 18: duplicate object key near '\"aet\"'"},
	};
	char path[64], expect[300];
	char *argv[] = {"--config", path};
	struct pc_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_tmp(path, sizeof(path), cases[i].json);
		snprintf(expect, sizeof(expect), "config file %s: %s", path,
			 cases[i].msg);
		assert_string_equal(load_fail(&err, cases[i].st, 2, argv, NULL),
				    expect);
		unlink(path);
	}
	/* A file that cannot be read. */
	argv[1] = "/nonexistent/pacsd.json";
	assert_non_null(strstr(load_fail(&err, PC_IO, 2, argv, NULL),
			       "config file /nonexistent/pacsd.json: "));
}

static void help(void **state)
{
	static const char *const want[] = {
		"--config FILE", "env PACSD_CONFIG", "--data-dir DIR",
		"env PACSD_DATA_DIR, key \"data_dir\", default ./pacsd-data",
		"--http ADDR:PORT", "env PACSD_HTTP, key \"http\", default "
				    "127.0.0.1:8080",
		"--dicom ADDR:PORT", "default 127.0.0.1:11112",
		"--aet AETITLE", "env PACSD_AET, key \"aet\", default PACSD",
		"--remote-ae AET=HOST:PORT", "env PACSD_REMOTE_AES, key "
					     "\"remote_aes\"",
		"--max-body BYTES", "env PACSD_MAX_BODY, key \"max_body\", "
				    "default 1G",
		"--cors-origins LIST", "key \"cors_origins\"",
		"--allow-overwrite[=BOOL]", "env PACSD_ALLOW_OVERWRITE",
		"--qido-max-results N", "key \"qido_max_results\", default 1000",
		"--help, -h",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char *argv[] = {"--http", "bad", "--help"};
	char *envp[] = {"PACSD_CONFIG=/nonexistent", NULL};
	struct pc_config cfg;
	struct pc_err err = {0};

	(void)state;
	assert_non_null(f);
	pc_config_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(text, want[i]) == NULL)
			fail_msg("--help lacks \"%s\":\n%s", want[i], text);
	}
	free(text);

	/* --help wins over bad values and an unreadable file. */
	assert_int_equal(pc_config_load(&cfg, 3, argv, envp, &err), PC_OK);
	assert_true(cfg.help);
	pc_config_cleanup(&cfg);
}

static void out_of_memory(void **state)
{
	char path[64];
	char *argv[] = {"--config", path, "--remote-ae", "X=h:1",
			"--remote-ae", "DEST=h:2", "--cors-origins", "a,b",
			"--http", "[::1]:1"};
	char *envp[] = {"PACSD_REMOTE_AES=Y=h:3", "PACSD_DATA_DIR=/e", NULL};
	struct pc_config cfg;
	struct pc_err err;
	uint64_t n;
	enum pc_status st;

	(void)state;
	write_tmp(path, sizeof(path), full_file);
	for (n = 1;; n++) {
		pc_err_clear(&err);
		pc_alloc_fail_after(n);
		st = pc_config_load(&cfg, 10, argv, envp, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
		assert_non_null(strstr(err.msg, "out of memory"));
		assert_null(cfg.data_dir); /* cleaned up on failure */
		pc_config_cleanup(&cfg);
	}
	assert_true(n > 10);
	assert_int_equal(cfg.n_remote_aes, 5);
	pc_config_cleanup(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),    cmocka_unit_test(file_only),
		cmocka_unit_test(precedence),  cmocka_unit_test(flag_errors),
		cmocka_unit_test(env_errors),  cmocka_unit_test(file_errors),
		cmocka_unit_test(help),        cmocka_unit_test(out_of_memory),
		cmocka_unit_test(allowed_aes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
