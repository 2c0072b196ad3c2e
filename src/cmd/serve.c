/*
 * serve.c - `pacsd serve [OPTIONS]`: the server process.
 *
 * Start-up order: configuration (a bad one exits 2 before anything is
 * opened), signals blocked in the main thread before any other thread
 * exists (every thread inherits the mask, so SIGINT/SIGTERM reach only
 * sigwait below), the data directory, the blob store, the index, the ingest
 * path and its start-up sweep, then the HTTP server and the DICOM (DIMSE)
 * listener. Nothing listens until the store and index are open and swept.
 *
 * Stop: SIGINT or SIGTERM -> the server stops accepting, requests in flight
 * get up to STOP_GRACE_MS, then everything is closed in reverse order and
 * the process exits 0. SIGPIPE is ignored: a client that goes away must
 * not kill the server.
 */
#include "cmd.h"

#include "core/config.h"
#include "http/http.h"
#include "net/scp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STOP_GRACE_MS 10000u

extern char **environ;

/* mkdir -p: creates `path` and its missing parents (mode 0750). */
static enum pc_status mkdir_p(const char *path, struct pc_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return pc_err_set(err, PC_INVAL, 0,
		                  "data directory path is empty or too long");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return pc_err_set(err, PC_IO, 0,
			                  "cannot create directory %s: %s", buf,
			                  strerror(errno));
		buf[i] = saved;
	}
	return PC_OK;
}

int cmd_serve(int argc, char **argv)
{
	struct pc_config cfg;
	struct pc_err err = {0};
	struct http_services svc;
	struct ingest_opts iopts;
	blob_store *store = NULL;
	idx *index = NULL;
	ingest *ig = NULL;
	http_server *srv = NULL;
	dimse_server *dimse = NULL;
	struct dimse_services dsvc;
	char path[PATH_MAX];
	size_t temp_removed = 0, orphans_removed = 0;
	sigset_t stop_set;
	int sig = 0, rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	if (pc_config_load(&cfg, argc - 1, argv + 1, environ, &err) != PC_OK) {
		fprintf(stderr, "pacsd serve: %s\n", err.msg);
		fprintf(stderr, "'pacsd serve --help' lists the options.\n");
		pc_config_cleanup(&cfg);
		return 2;
	}
	if (cfg.help) {
		pc_config_usage(stdout);
		pc_config_cleanup(&cfg);
		return 0;
	}

	/* Before any thread: they all inherit this mask. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mkdir_p(cfg.data_dir, &err) != PC_OK)
		goto fail;
	store = blob_fs_open(cfg.data_dir, &err);
	if (store == NULL)
		goto fail;
	if ((size_t)snprintf(path, sizeof(path), "%s/index.sqlite3",
	                     cfg.data_dir) >= sizeof(path)) {
		pc_err_set(&err, PC_INVAL, 0, "data directory path too long");
		goto fail;
	}
	index = idx_sqlite_open(path, &err);
	if (index == NULL)
		goto fail;
	memset(&iopts, 0, sizeof(iopts));
	iopts.allow_overwrite = cfg.allow_overwrite;
	iopts.sync_each = cfg.sync_each;
	ig = ingest_create(store, index, &iopts, &err);
	if (ig == NULL)
		goto fail;
	if (ingest_sweep(ig, &temp_removed, &orphans_removed, &err) != PC_OK)
		goto fail;
	pc_log(PC_LOG_INFO,
	       "data directory %s: index schema %d, removed %zu unfinished "
	       "upload(s) and %zu orphan blob(s); durability: %s",
	       cfg.data_dir, idx_schema_version(index), temp_removed,
	       orphans_removed,
	       cfg.sync_each ? "fsync of each blob, directory and index commit"
	                     : "one syncfs per group of instances");

	svc.cfg = &cfg;
	svc.store = store;
	svc.index = index;
	svc.ingest = ig;
	srv = http_server_start(&svc, &err);
	if (srv == NULL)
		goto fail;
	pc_log(PC_LOG_INFO, "pacsd %s listening on http://%s%s%s:%u",
	       PACSD_VERSION, strchr(cfg.http.host, ':') ? "[" : "",
	       cfg.http.host, strchr(cfg.http.host, ':') ? "]" : "",
	       (unsigned)cfg.http.port);
	dsvc.cfg = &cfg;
	dsvc.store = store;
	dsvc.index = index;
	dsvc.ingest = ig;
	dimse = dimse_server_start(&dsvc, &err);
	if (dimse == NULL)
		goto fail;
	pc_log(PC_LOG_INFO, "DICOM AE \"%s\" listening on %s:%u", cfg.aet,
	       cfg.dicom.host, (unsigned)cfg.dicom.port);

	while (sigwait(&stop_set, &sig) != 0)
		;
	pc_log(PC_LOG_INFO, "%s received: stopping (grace %u ms)",
	       sig == SIGINT ? "SIGINT" : "SIGTERM", STOP_GRACE_MS);
	dimse_server_stop(dimse, STOP_GRACE_MS);
	dimse = NULL;
	http_server_stop(srv, STOP_GRACE_MS);
	srv = NULL;
	rc = 0;
	pc_log(PC_LOG_INFO, "stopped");
	goto out;
fail:
	fprintf(stderr, "pacsd serve: %s\n", err.msg);
out:
	dimse_server_stop(dimse, 0);
	http_server_stop(srv, 0);
	ingest_destroy(ig);
	idx_close(index);
	blob_store_close(store);
	pc_config_cleanup(&cfg);
	return rc;
}
