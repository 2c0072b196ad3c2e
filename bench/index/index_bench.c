/*
 * index_bench.c - puts N synthetic instances into a fresh SQLite index and
 * times QIDO-RS queries over them (best of R runs each, JSON answers
 * written and counted as the HTTP layer would).
 *
 *   index_bench [-n instances] [-r runs] [-d dir] [-k]
 *
 * With -n 0 and -d, only the queries run, on the index kept there by an
 * earlier -k run (after a close, so with the planner statistics that
 * PRAGMA optimize collected).
 * 5 instances per study, 2 studies per patient, dates over five years,
 * every third study MR (else CT). The database goes to `dir` (default: a
 * new directory under /dev/shm, or /tmp) and is removed unless -k.
 * There is no reference tool to compare with: the figures are absolute.
 */
#include "index/idx.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *const surnames[] = {
    "Smith",    "Jones",   "Taylor", "Brown",    "Williams",
    "Wilson",   "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans",   "Walker", "White",    "Roberts",
    "Green",    "Hall",    "Wood",   "Jackson",  "Clarke"};

static int set(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *v)
{
	return dcm_dataset_set_string(ds, tag, vr, v) == PC_OK ? 0 : -1;
}

static int put_one(idx *ix, int i)
{
	char study[64], series[64], sop[64], pid[32], name[64], date[16],
	    acc[32], inum[16], handle[IDX_HANDLE_LEN + 1];
	struct pc_buf md = PC_BUF_INIT;
	struct pc_err err = {0};
	enum idx_put_outcome o;
	uint8_t sha[32];
	struct idx_put p;
	dcm_dataset *ds = dcm_dataset_create();
	int st = i / 5, rc = -1;

	if (ds == NULL)
		return -1;
	snprintf(study, sizeof(study), "1.9.%d", st);
	snprintf(series, sizeof(series), "1.9.%d.1", st);
	snprintf(sop, sizeof(sop), "1.9.%d.1.%d", st, i % 5);
	snprintf(pid, sizeof(pid), "PID%06d", st / 2);
	snprintf(name, sizeof(name), "%s^Pat%06d", surnames[(st / 2) % 20],
	         st / 2);
	snprintf(date, sizeof(date), "20%02d%02d%02d", 18 + st % 5, 1 + st % 12,
	         1 + st % 28);
	snprintf(acc, sizeof(acc), "A%08d", st);
	snprintf(inum, sizeof(inum), "%d", i % 5 + 1);
	if (set(ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI,
	        "1.2.840.10008.5.1.4.1.1.2") ||
	    set(ds, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, sop) ||
	    set(ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, date) ||
	    set(ds, DCM_TAG(0x0008, 0x0030), DCM_VR_TM, "101010") ||
	    set(ds, DCM_TAG(0x0008, 0x0050), DCM_VR_SH, acc) ||
	    set(ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, st % 3 ? "CT" : "MR") ||
	    set(ds, DCM_TAG(0x0008, 0x1030), DCM_VR_LO, "BENCH STUDY") ||
	    set(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, name) ||
	    set(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, pid) ||
	    set(ds, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, study) ||
	    set(ds, DCM_TAG(0x0020, 0x000E), DCM_VR_UI, series) ||
	    set(ds, DCM_TAG(0x0020, 0x0011), DCM_VR_IS, "1") ||
	    set(ds, DCM_TAG(0x0020, 0x0013), DCM_VR_IS, inum))
		goto out;
	if (dcm_json_write(ds, NULL, &md, &err) != PC_OK)
		goto out;
	snprintf(handle, sizeof(handle), "%032x", (unsigned)i + 1);
	memset(sha, i & 0xFF, sizeof(sha));
	memset(&p, 0, sizeof(p));
	p.ds = ds;
	p.handle = handle;
	p.ts_uid = "1.2.840.10008.1.2.1";
	p.size = 1000;
	p.sha256 = sha;
	p.metadata = md.p;
	p.metadata_len = md.n;
	if (idx_instance_put(ix, &p, &o, NULL, &err) != PC_OK ||
	    o != IDX_PUT_NEW) {
		fprintf(stderr, "put %d: %s\n", i, err.msg);
		goto out;
	}
	rc = 0;
out:
	pc_buf_cleanup(&md);
	dcm_dataset_destroy(ds);
	return rc;
}

struct sink {
	size_t n, bytes;
};

static enum pc_status sink_fn(void *ctx, const char *json, size_t n)
{
	struct sink *s = ctx;

	(void)json;
	s->n++;
	s->bytes += n;
	return PC_OK;
}

static int run(idx *ix, enum qry_level level, const char *qs, int runs)
{
	static const char *const names[] = {"patient", "study", "series",
	                                    "instance"};
	double best = 1e9, total = 0;
	struct sink s = {0, 0};
	int r;

	for (r = 0; r < runs; r++) {
		struct qry q;
		struct pc_err err = {0};
		double t;

		s.n = s.bytes = 0;
		if (qry_init(&q, level) != PC_OK ||
		    qry_parse_qido(&q, qs, strlen(qs), &err) != PC_OK) {
			fprintf(stderr, "%s: %s\n", qs, err.msg);
			qry_cleanup(&q);
			return -1;
		}
		t = now_ms();
		if (idx_query(ix, &q, NULL, sink_fn, &s, NULL, &err) != PC_OK) {
			fprintf(stderr, "%s: %s\n", qs, err.msg);
			qry_cleanup(&q);
			return -1;
		}
		t = now_ms() - t;
		total += t;
		if (t < best)
			best = t;
		qry_cleanup(&q);
	}
	printf("%-8s %-52s %6zu matches %8.3f ms best %8.3f ms mean\n",
	       names[level], qs, s.n, best, total / runs);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 10000, runs = 20, keep = 0, i, opt;
	char dir[256] = "", path[300];
	struct pc_err err = {0};
	idx *ix;
	double t;

	while ((opt = getopt(argc, argv, "n:r:d:k")) != -1) {
		switch (opt) {
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'r':
			runs = (int)strtol(optarg, NULL, 10);
			break;
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'k':
			keep = 1;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-n instances] [-r runs] [-d dir] "
			        "[-k]\n",
			        argv[0]);
			return 2;
		}
	}
	if (n < 0 || runs < 1)
		return 2;
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/pacsd-index-bench-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/index.db", dir);
	ix = idx_sqlite_open(path, &err);
	if (ix == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	t = now_ms();
	for (i = 0; i < n; i++)
		if (put_one(ix, i) != 0)
			return 1;
	t = now_ms() - t;
	printf("put %d instances: %.0f ms (%.3f ms each, synchronous=FULL "
	       "on %s)\n",
	       n, t, t / n, dir);

	run(ix, QRY_LEVEL_STUDY, "PatientName=wri*", runs);
	run(ix, QRY_LEVEL_STUDY, "PatientName=wright%5Epat000049", runs);
	run(ix, QRY_LEVEL_STUDY, "PatientName=*son*&limit=25", runs);
	run(ix, QRY_LEVEL_STUDY, "PatientName=wri&fuzzymatching=true", runs);
	run(ix, QRY_LEVEL_STUDY, "PatientID=PID000123", runs);
	run(ix, QRY_LEVEL_STUDY, "StudyDate=20200301-20200331", runs);
	run(ix, QRY_LEVEL_STUDY, "StudyDate=20220101-", runs);
	run(ix, QRY_LEVEL_STUDY, "limit=100", runs);
	run(ix, QRY_LEVEL_STUDY, "limit=100&offset=1000", runs);
	run(ix, QRY_LEVEL_STUDY, "AccessionNumber=A00000777", runs);
	run(ix, QRY_LEVEL_STUDY, "ModalitiesInStudy=MR&limit=100", runs);
	run(ix, QRY_LEVEL_STUDY,
	    "ModalitiesInStudy=MR&StudyDate=20190101-20191231", runs);
	run(ix, QRY_LEVEL_STUDY, "StudyDescription=BENCH*&limit=100", runs);
	run(ix, QRY_LEVEL_STUDY, "StationName=X&limit=10", runs);
	run(ix, QRY_LEVEL_STUDY, "PatientName=wri*&includefield=all", runs);
	run(ix, QRY_LEVEL_SERIES, "PatientName=wri*&Modality=CT", runs);
	run(ix, QRY_LEVEL_SERIES, "Modality=MR&limit=100", runs);
	run(ix, QRY_LEVEL_INSTANCE, "StudyInstanceUID=1.9.1234", runs);
	run(ix, QRY_LEVEL_INSTANCE, "SOPInstanceUID=1.9.1234.1.3", runs);
	run(ix, QRY_LEVEL_INSTANCE, "InstanceNumber=3&limit=100", runs);

	idx_close(ix);
	if (!keep)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", path);
	return 0;
}
