#!/usr/bin/env bash
# DICOM (DIMSE) interoperability and abuse against the real server:
#  - C-ECHO with echoscu, to our AE title and to another one (pacsd
#    accepts any called AE title by default: checked, not refused);
#  - C-STORE of pydicom's whole test corpus with storescu, one run per
#    transfer syntax with the flag that proposes it, through a recording
#    proxy (dimse/wiretap.py): every stored instance must come back
#    byte-identical to the data set on the wire, every refusal must be a
#    documented status with a real cause (dimse/check_store.py);
#  - C-STORE repeats (same bytes: Success; other bytes: 0x0111) with
#    storescu, and raw C-STOREs that must be refused (dimse/abuse.py store);
#  - C-FIND with findscu at every level of both models, compared with what
#    pydicom reads from the stored files, and --cancel (dimse/check_find.py);
#  - abuse over raw sockets (dimse/abuse.py): garbage instead of an
#    A-ASSOCIATE-RQ, a stalled PDU, a 2 GB PDU length, garbage P-DATA,
#    200 simultaneous associations against the limit of 100.
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository;
# KEEP_WORK=1 keeps the work directory (server log, wire recordings).
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE="$SRC/tests/integration/dimse"
. "$SRC/tests/integration/lib.sh"
require_tools test_dimse "$PY" curl echoscu storescu findscu

make_work dimse

# alive: the server still runs and still answers C-ECHO.
alive() {
	if kill -0 "$main_pid" 2>/dev/null && echoscu -to 10 -aec PACSD 127.0.0.1 "$dport" 2>/dev/null; then
		ok "server still answers C-ECHO $*"
	else
		bad "server does not answer C-ECHO $*"
	fi
}

if ! PACSD_WAIT_DICOM=1 start_named main; then
	bad "server did not start"
	finish
fi
ok "server started"
main_pid=$PACSD_PID
dport=$DICOM_PORT

# ---- C-ECHO -------------------------------------------------------------------
if out=$(echoscu -v -aec PACSD 127.0.0.1 "$dport" 2>&1) &&
	grep -q 'Received Echo Response (Success)' <<<"$out"; then
	ok "echoscu -aec PACSD"
else
	bad "echoscu -aec PACSD: $out"
fi
# pacsd accepts any called AE title (nothing checks it against --aet, as
# Orthanc's DicomCheckCalledAet false): checked here so that a change shows.
if out=$(echoscu -v -aec NOT_PACSD -aet SOMEONE 127.0.0.1 "$dport" 2>&1) &&
	grep -q 'Received Echo Response (Success)' <<<"$out"; then
	ok "echoscu to another called AE title is accepted (no called-AE check)"
else
	bad "echoscu -aec NOT_PACSD: $out"
fi
if grep -q 'to "NOT_PACSD"' "$WORK/main/log"; then
	ok "the log names the calling and called AE titles"
else
	bad "no log line for the association to NOT_PACSD"
fi

# ---- C-STORE of the corpus --------------------------------------------------------
mkdir -p "$WORK/corpus" "$WORK/wire"
"$PY" "$HERE/corpus.py" "$WORK/corpus"
"$PY" "$HERE/wiretap.py" "$dport" "$WORK/wire" &
tap_pid=$!
track_pid "$tap_pid"
for _ in $(seq 50); do
	[ -s "$WORK/wire/port" ] && break
	sleep 0.1
done
tport=$(cat "$WORK/wire/port" 2>/dev/null)
: >"$WORK/runs"
nconn() { find "$WORK/wire" -name 'conn-*.c2s' | wc -l; }
# Two passes over the corpus: as is (many files share a SOP Instance UID
# with another file of other bytes, e.g. MR_small in 8 transfer syntaxes:
# the first stored wins, the others get 0x0111), then with +II (storescu
# invents a new SOP Instance UID per file), so that every transfer syntax
# is stored at least once.
for pass_ in plain invent; do
	extra=()
	[ "$pass_" = invent ] && extra=(+II)
	for g in $(cut -f1 "$WORK/corpus/groups.tsv" | sort -u); do
		flag=$(awk -F'\t' -v g="$g" '$1 == g {print $2; exit}' "$WORK/corpus/groups.tsv")
		awk -F'\t' -v g="$g" '$1 == g {print $3}' "$WORK/corpus/groups.tsv" >"$WORK/corpus/$g.list"
		log=$WORK/corpus/$g.$pass_.log
		before=$(nconn)
		# -R: propose only the SOP classes of the files (the default list
		# lacks some, e.g. Segmentation); -nh: go on after a refusal.
		xargs -a "$WORK/corpus/$g.list" -d '\n' storescu -v -R -nh "$flag" "${extra[@]}" \
			-aec PACSD 127.0.0.1 "$tport" >"$log" 2>&1
		echo "$log $((before + 1)) $(nconn)" >>"$WORK/runs"
		n=$(wc -l <"$WORK/corpus/$g.list")
		s=$(grep -c 'Received Store Response (Success)' "$log")
		echo "     storescu $flag ${extra[*]}: $g: $n files, $s stored"
	done
done
kill "$tap_pid" 2>/dev/null
wait "$tap_pid" 2>/dev/null
echo "     files storescu would not send (its own checks):"
grep -h -E '^(W: missing SOP|E: No presentation context|E: Bad DICOM file)' "$WORK"/corpus/*.plain.log |
	sed 's/^/       /'
grep -h '' "$WORK/corpus/skipped.tsv" | sed 's/^/       not DICOM, not sent: /'
run_py store "$HERE/check_store.py" "$WORK/wire" "$WORK/runs" "$BASE" "$WORK/main/data" "$WORK/stored"
alive "after the corpus"

# ---- C-STORE repeats --------------------------------------------------------------
ct="$(pydicom_files)/CT_small.dcm"
for i in 1 2; do
	if out=$(storescu -v -aec PACSD 127.0.0.1 "$dport" "$ct" 2>&1) &&
		grep -q 'Received Store Response (Success)' <<<"$out"; then
		ok "storescu CT_small.dcm, time $i: Success"
	else
		bad "storescu CT_small.dcm, time $i: $(grep -i 'response\|error' <<<"$out")"
	fi
done
# Other bytes under CT_small's SOP Instance UID.
"$PY" - "$ct" "$WORK/ct_changed.dcm" <<-'EOF'
	import sys, pydicom
	ds = pydicom.dcmread(sys.argv[1])
	ds.PatientName = "Changed^Patient"
	ds.save_as(sys.argv[2], write_like_original=True)
	EOF
out=$(storescu -v -aec PACSD 127.0.0.1 "$dport" "$WORK/ct_changed.dcm" 2>&1)
if grep -q 'Received Store Response (Unknown Status: 0x111)' <<<"$out"; then
	ok "storescu of other bytes under a stored SOP Instance UID: 0x0111"
else
	bad "re-used SOP Instance UID: $(grep -i 'response\|error' <<<"$out")"
fi
# The stored instance is still the original.
if out=$(curl -sf "$BASE/dicom-web/instances?SOPInstanceUID=$("$PY" -c 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$ct")&includefield=PatientName") &&
	! grep -q Changed <<<"$out" && grep -q 00100010 <<<"$out"; then
	ok "after the 0x0111 the stored instance is the first one"
else
	bad "after the 0x0111: $out"
fi

# ---- C-FIND -------------------------------------------------------------------------
"$PY" "$HERE/check_find.py" make "$WORK/synthetic"
nsyn=$(find "$WORK/synthetic" -name '*.dcm' | wc -l)
out=$(storescu -v -aec PACSD -nh +sd 127.0.0.1 "$dport" "$WORK/synthetic" 2>&1)
if [ "$(grep -c 'Received Store Response (Success)' <<<"$out")" = "$nsyn" ]; then
	ok "storescu +sd of $nsyn synthetic instances: all Success"
else
	bad "storescu of the synthetic set: $(grep -v 'Success\|Sending\|XMIT\|Converting' <<<"$out" | head -5)"
fi
run_py find "$HERE/check_find.py" run "$dport" "$WORK/find" "$WORK/stored" "$WORK/synthetic"
alive "after the C-FIND checks"

# ---- raw C-STORE refusals (after C-FIND: these instances are in no file) -----------
run_py rawstore "$HERE/abuse.py" store "$dport" "$BASE"

# ---- abuse ------------------------------------------------------------------------------
run_py abuse "$HERE/abuse.py" abuse "$dport" "$main_pid"
alive "after the abuse"
if grep -qE '\b(error|fatal)\b' "$WORK/main/log"; then
	echo "     server errors logged:"
	grep -E '\b(error|fatal)\b' "$WORK/main/log" | head -10 | sed 's/^/       /'
fi
stop_checked "main server" "$main_pid" "$WORK/main/log"
sanitizer_clean "main server" "$WORK/main/log"

summary
