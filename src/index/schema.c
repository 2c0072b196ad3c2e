/*
 * schema.c - the index's SQLite schema as an ordered list of migration
 * steps, and the code that applies them.
 *
 * The version lives in PRAGMA user_version (0 = empty database). Step i
 * takes the schema from version i to i + 1; each runs in its own
 * BEGIN IMMEDIATE transaction that also sets user_version, so a crash
 * leaves the database at a whole version and two processes opening the
 * same file at once cannot apply a step twice (the version is re-read
 * inside the transaction). A database newer than the binary is refused:
 * an old binary would not maintain the columns and counts a newer schema
 * relies on. Steps are append-only: a released step is never edited.
 *
 * Tables (version 1):
 *   patients         one row per PatientID; one per study when it is empty
 *   studies          study attributes of the first instance, counts,
 *                    ModalitiesInStudy and SOPClassesInStudy ('\'-joined,
 *                    sorted, distinct), the representative instance
 *   series           likewise for series; request_attrs keeps the DICOM
 *                    JSON of RequestAttributesSequence, a default QIDO
 *                    return attribute, so answers need not parse metadata
 *   series_requests  RequestAttributeSequence items (PS3.18 10.6.1.2.2:
 *                    ScheduledProcedureStepID, RequestedProcedureID)
 *   instances        id is the `seq` of idx_instance (AUTOINCREMENT: ids
 *                    are never reused, which entity tags rely on), the
 *                    blob handle, size, SHA-256 and DICOM JSON metadata
 *   totals           one row of global counts for idx_counts()
 * Empty values are stored as NULL so that ranges never match them. PN
 * columns have a *_fold twin (see idx__fold_pn), DA/TM columns hold the
 * normalised forms of idx__norm_da/idx__norm_tm.
 */
#include "idx_int.h"

#include <stdio.h>

struct migration {
	const char *what; /* for error messages */
	const char *sql;
};

static const struct migration migrations[] = {
    {"create the version 1 schema",
     "CREATE TABLE patients ("
     " id INTEGER PRIMARY KEY,"
     " patient_id TEXT,"
     " patient_name TEXT,"
     " patient_name_fold TEXT,"
     " birth_date TEXT,"
     " sex TEXT,"
     " issuer TEXT);"
     "CREATE INDEX patients_by_pid ON patients(patient_id);"
     "CREATE INDEX patients_by_name ON patients(patient_name_fold);"
     "CREATE TABLE studies ("
     " id INTEGER PRIMARY KEY,"
     " patient_ref INTEGER NOT NULL REFERENCES patients(id),"
     " study_uid TEXT NOT NULL UNIQUE,"
     " study_date TEXT,"
     " study_time TEXT,"
     " accession TEXT,"
     " referring_physician TEXT,"
     " referring_physician_fold TEXT,"
     " study_id TEXT,"
     " study_description TEXT,"
     " timezone TEXT,"
     " n_series INTEGER NOT NULL DEFAULT 0,"
     " n_instances INTEGER NOT NULL DEFAULT 0,"
     " modalities TEXT,"
     " sop_classes TEXT,"
     " rep_instance INTEGER);"
     "CREATE INDEX studies_by_patient ON studies(patient_ref);"
     "CREATE INDEX studies_by_date ON studies(study_date, study_time,"
     " study_uid);"
     "CREATE INDEX studies_by_accession ON studies(accession);"
     "CREATE INDEX studies_by_referring ON studies(referring_physician_fold);"
     "CREATE INDEX studies_by_study_id ON studies(study_id);"
     "CREATE TABLE series ("
     " id INTEGER PRIMARY KEY,"
     " study_ref INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
     " series_uid TEXT NOT NULL UNIQUE,"
     " modality TEXT,"
     " series_number INTEGER,"
     " series_description TEXT,"
     " pps_start_date TEXT,"
     " pps_start_time TEXT,"
     " n_instances INTEGER NOT NULL DEFAULT 0,"
     " request_attrs TEXT,"
     " rep_instance INTEGER);"
     "CREATE INDEX series_by_study ON series(study_ref, series_number,"
     " series_uid);"
     "CREATE INDEX series_by_modality ON series(modality);"
     "CREATE INDEX series_by_number ON series(series_number, series_uid);"
     "CREATE TABLE series_requests ("
     " series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
     " sps_id TEXT,"
     " rp_id TEXT);"
     "CREATE INDEX series_requests_by_series ON series_requests(series_ref);"
     "CREATE TABLE instances ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
     " sop_uid TEXT NOT NULL UNIQUE,"
     " sop_class_uid TEXT NOT NULL,"
     " instance_number INTEGER,"
     " n_rows INTEGER,"
     " n_columns INTEGER,"
     " bits_allocated INTEGER,"
     " frames INTEGER NOT NULL,"
     " ts_uid TEXT NOT NULL,"
     " handle TEXT NOT NULL UNIQUE,"
     " size INTEGER NOT NULL,"
     " sha256 BLOB NOT NULL,"
     " metadata TEXT);"
     "CREATE INDEX instances_by_series ON instances(series_ref,"
     " instance_number, sop_uid);"
     "CREATE INDEX instances_by_number ON instances(instance_number,"
     " sop_uid);"
     "CREATE INDEX instances_by_class ON instances(sop_class_uid);"
     "CREATE TABLE totals ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " patients INTEGER NOT NULL,"
     " studies INTEGER NOT NULL,"
     " series INTEGER NOT NULL,"
     " instances INTEGER NOT NULL,"
     " bytes INTEGER NOT NULL);"
     "INSERT INTO totals VALUES (1, 0, 0, 0, 0, 0);"},
    /* Deferred durability (idx_defer_sync): instances with an id above
     * `durable_upto` may have been committed before their blob was synced,
     * and are checked at start-up. It lives in the totals row, which every
     * put rewrites anyway, so moving it costs no extra page. Rows stored
     * by version 1 were synced one by one: all below the mark. */
    {"add the durability mark",
     "ALTER TABLE totals ADD COLUMN durable_upto INTEGER NOT NULL"
     " DEFAULT 0;"
     "UPDATE totals SET durable_upto ="
     " (SELECT COALESCE(MAX(id), 0) FROM instances);"},
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int idx__schema_latest(void)
{
	return N_MIGRATIONS;
}

static enum pc_status read_version(sqlite3 *db, int *version,
                                   struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		enum pc_status s =
		    idx__sq_fail(err, db, rc, "reading the schema version");
		sqlite3_finalize(st);
		return s;
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return PC_OK;
}

static enum pc_status newer(int version, struct pc_err *err)
{
	return pc_err_set(err, PC_UNSUPPORTED, 0,
	                  "index: the database has schema version %d but this "
	                  "pacsd knows versions up to %d; use a newer pacsd",
	                  version, N_MIGRATIONS);
}

/* Applies step `from` (from -> from + 1) unless another process has done
 * it meanwhile. */
static enum pc_status apply(sqlite3 *db, int from, struct pc_err *err)
{
	char set[48];
	char *msg = NULL;
	int rc, now = 0;
	enum pc_status s;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return idx__sq_fail(err, db, rc, "starting a migration");
	s = read_version(db, &now, err);
	if (s != PC_OK)
		goto fail;
	if (now > N_MIGRATIONS) {
		s = newer(now, err);
		goto fail;
	}
	if (now != from) /* someone else migrated; the caller re-reads */
		goto commit;
	rc = sqlite3_exec(db, migrations[from].sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		s = pc_err_set(err, PC_IO, 0,
		               "index: migration to version %d (%s) failed: %s",
		               from + 1, migrations[from].what,
		               msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		goto fail;
	}
	snprintf(set, sizeof(set), "PRAGMA user_version = %d", from + 1);
	rc = sqlite3_exec(db, set, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		s = idx__sq_fail(err, db, rc, "setting the schema version");
		goto fail;
	}
commit:
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		s = idx__sq_fail(err, db, rc, "committing a migration");
		goto fail;
	}
	return PC_OK;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return s;
}

enum pc_status idx__schema_migrate(sqlite3 *db, int *version,
                                   struct pc_err *err)
{
	int v = 0;
	enum pc_status s;

	for (;;) {
		s = read_version(db, &v, err);
		if (s != PC_OK)
			return s;
		if (v > N_MIGRATIONS)
			return newer(v, err);
		if (v < 0)
			return pc_err_set(err, PC_PARSE, 0,
			                  "index: the database has a negative "
			                  "schema version %d",
			                  v);
		if (v == N_MIGRATIONS)
			break;
		s = apply(db, v, err);
		if (s != PC_OK)
			return s;
	}
	*version = v;
	return PC_OK;
}
