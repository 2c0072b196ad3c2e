# bench/lib.sh - shell helpers shared by the server benchmarks
# (bench/server/run.sh, bench/dimse/run.sh); sourced, not run.
#
# The caller sets: `bench` (its name, prefixing messages), `py` (Debian's
# python3), `server_pid` (the server being measured, or empty), `servers`
# (the servers measured, "pacsd orthanc"), the array `rows` (table rows
# "metric|label|op|target", op one of >= <= info) and a function
# `value SERVER METRIC` printing one figure; `pacsd` (the binary) for
# require_inputs.

# require_inputs ITEM...: exits 1 unless every ITEM is there (a path when
# it holds a '/', else a command on PATH), and $pacsd is executable when
# pacsd is among the servers measured.
require_inputs() {
	local x
	for x in "$@"; do
		if { [[ $x == */* ]] && [ ! -e "$x" ]; } ||
			{ [[ $x != */* ]] && ! command -v "$x" >/dev/null; }; then
			echo "$bench: $x not found; run 'make build' first" >&2
			exit 1
		fi
	done
	if [[ " $servers " == *" pacsd "* ]] && [ ! -x "$pacsd" ]; then
		echo "$bench: $pacsd not found; run 'make build' first" >&2
		exit 1
	fi
}

# A free TCP port on the loopback interface.
free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# field NAME LINE: the number after NAME= in a load driver's result line.
field() { sed -n "s/.*[ ^]$1=\\([0-9.]*\\).*/\\1/p" <<<" $2"; }

# wait_ready SERVER URL LOG [DICOM_PORT]: waits up to 60 s for the server
# to answer URL (any HTTP status) and, when DICOM_PORT is given, C-ECHO.
wait_ready() {
	local s=$1 url=$2 log=$3 dport=${4:-}
	for _ in $(seq 600); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "$bench: $s exited while starting; its log:" >&2
			tail -20 "$log" >&2
			exit 1
		fi
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" != 000 ] &&
			{ [ -z "$dport" ] || echoscu -to 2 127.0.0.1 "$dport" 2>/dev/null; }; then
			return 0
		fi
		sleep 0.1
	done
	echo "$bench: $s did not answer within 60 s" >&2
	exit 1
}

# Stops the server with SIGTERM (SIGKILL after 30 s) and reaps it.
stop_server() {
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$server_pid" 2>/dev/null; then
		echo "$bench: server $server_pid ignored SIGTERM for 30 s; killing it" >&2
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

# print_table LABEL_WIDTH VALUE_WIDTH RATIO_WIDTH: one line per row with
# pacsd's and Orthanc's figures, pacsd's ratio, the target and PASS/MISS
# (FAIL when pacsd's phase failed).
print_table() {
	local lw=$1 vw=$2 rw=$3 row m label op target p o ratio verdict tgt
	echo
	printf "%-${lw}s %${vw}s %${vw}s %${rw}s %${rw}s %s\n" metric pacsd orthanc ratio target result
	for row in "${rows[@]}"; do
		IFS='|' read -r m label op target <<<"$row"
		p=n/a
		o=n/a
		[[ " $servers " == *" pacsd "* ]] && p=$(value pacsd "$m")
		[[ " $servers " == *" orthanc "* ]] && o=$(value orthanc "$m")
		ratio=-
		verdict=-
		if [[ $p =~ ^[0-9.]+$ ]] && [[ $o =~ ^[0-9.]+$ ]]; then
			ratio=$(awk -v a="$p" -v b="$o" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }')
		fi
		if [ "$op" = info ]; then
			tgt=info
		else
			tgt="$op $target"
			if [ "$ratio" != - ]; then
				if awk -v r="$ratio" -v t="$target" -v op="$op" \
					'BEGIN{ exit !((op == ">=") ? r >= t : r <= t) }'; then
					verdict=PASS
				else
					verdict=MISS
				fi
			elif [[ $p == FAILED* ]]; then
				verdict=FAIL
			fi
		fi
		printf "%-${lw}s %${vw}s %${vw}s %${rw}s %${rw}s %s\n" "$label" "$p" "$o" "$ratio" "$tgt" "$verdict"
	done
}
