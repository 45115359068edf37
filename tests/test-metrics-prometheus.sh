#!/bin/bash
# The metrics as Prometheus meets them: the real zpcid on the simulated LPAR
# (16 functions, a private bus) writes its textfile; the real node_exporter
# (Debian's prometheus-node-exporter) exports it without a scrape error, with
# the states, the counts by PEC class and by action and result, the owner_info
# of a function a VMM holds; `promtool
# check metrics` finds nothing to say about the daemon's file nor about
# `zpcictl metrics`; after the stop the file says zpcid_up 0. As a control,
# the same node_exporter refuses an OpenMetrics stateset.
#
# The script is also its own scenario step (see tests/test-zpcictl-functions.sh).
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

NODE_EXPORTER=${ZPCID_NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
FILE_RE='^zpcid_function_state\{fid="0x00000051",slot="0051:00:00.0",type="[^"]*",state="failed"\} 1$'

# Every line promtool prints is a finding: none is allowed.
promtool_clean() { # what < text
	local out
	out=$(promtool check metrics 2>&1) || fail "promtool check metrics ($1): $out"
	[ -z "$out" ] || fail "promtool check metrics ($1) has findings: $out"
	echo "promtool check metrics ($1): no findings"
}

step_wait_bus() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
}

# A VMM holds 0x21: zpcid finds it at the reload and writes its owner_info.
step_find_holder() {
	kill -HUP "$ZPCI_SIM_DAEMON_PID" || fail "cannot send SIGHUP to zpcid"
	wait_for "grep -q '^zpcid_function_owner_info{fid=\"0x00000021\".*command=\"qemu-system-s39\"} 1\$' $T/textfile/zpcid.prom" 30 ||
		fail "the textfile never named the holder of 0x21: $(grep owner_info "$T/textfile/zpcid.prom")"
}

step_scrape() {
	local port tf=$T/textfile url
	# The writer's rate limit is 1 s here: the state and the action show within a few.
	wait_for "grep -Eq '$FILE_RE' $tf/zpcid.prom && grep -q '^zpcid_actions_total{fid=\"0x00000051\".*action=\"alert\",result=\"done\"} 1\$' $tf/zpcid.prom" 30 ||
		fail "the textfile never showed 0x51 failed with its alert: $(cat "$tf/zpcid.prom" 2>&1)"
	[ "$(stat -c %a "$tf/zpcid.prom")" = 644 ] || fail "the textfile is not readable by node_exporter's user"
	ls -A "$tf" | grep -v '^zpcid.prom$' && fail "temporary files left in the textfile directory"
	promtool_clean "daemon's textfile" <"$tf/zpcid.prom"
	# every zpcid series the alerting rules use is one the daemon writes
	for name in $(grep -o 'zpcid_[a-z_]*' "$SRC/contrib/prometheus/zpcid.rules.yml" | sort -u); do
		grep -q "^# TYPE $name " "$tf/zpcid.prom" || fail "the rules use $name, the textfile has no such family"
	done
	cp "$tf/zpcid.prom" "$T/daemon.prom"

	"$Z" metrics >"$T/zpcictl.prom" || fail "zpcictl metrics"
	promtool_clean "zpcictl metrics" <"$T/zpcictl.prom"

	port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$tf" >"$T/node_exporter.log" 2>&1 &
	NEPID=$!
	trap 'kill $NEPID; wait $NEPID' EXIT
	url="http://127.0.0.1:$port/metrics"
	wait_for "$PY -c 'import urllib.request; urllib.request.urlopen(\"$url\")' 2>/dev/null" 20 ||
		fail "node_exporter did not answer on $url: $(cat "$T/node_exporter.log")"
	$PY -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
		"$url" >"$T/scrape"
	grep -E '^node_textfile_scrape_error|^zpcid_up|^zpcid_build_info|^node_textfile_mtime_seconds' "$T/scrape"
	$PY - "$T" <<'PY' || fail "node_exporter's scrape does not carry zpcid's series"
import re, sys
T = sys.argv[1]
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
def key(name, labels):
    # node_exporter re-exposes the labels sorted by name: compare label sets
    if not labels: return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
def series(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip(): continue
        k, v = line.rstrip("\n").rsplit(" ", 1)
        name, _, rest = k.partition("{")
        out[key(name, dict(LABEL.findall(rest)))] = float(v)
    return out
def S(name, **labels):
    return key(name, labels)
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)
scrape, daemon, ctl = series(f"{T}/scrape"), series(f"{T}/daemon.prom"), series(f"{T}/zpcictl.prom")
if scrape.get("node_textfile_scrape_error") != 0: die(f"node_textfile_scrape_error {scrape.get('node_textfile_scrape_error')}")
# the loop's stall probe only grows: the file may have been rewritten since the copy
STALL = "zpcid_loop_stall_max_seconds"
for k, v in daemon.items():
    if k != STALL and scrape.get(k) != v: die(f"{k}: {v} in the file, {scrape.get(k)} exported")
if not (0 < daemon.get(STALL, 0) <= min(scrape.get(STALL, 0), ctl.get(STALL, 0)) and
        max(scrape[STALL], ctl[STALL]) < 10):
    die(f"{STALL}: file {daemon.get(STALL)}, exported {scrape.get(STALL)}, zpcictl {ctl.get(STALL)}")
if scrape.get("zpcid_up") != 1 or scrape.get("zpcid_functions") != 16: die("zpcid_up/zpcid_functions")
if not any(k.startswith('zpcid_build_info{version="') for k in scrape): die("no build info")
t51 = [k for k in scrape if k.startswith("zpcid_function_state{") and 'fid="0x00000051"' in k]
t51 = dict(LABEL.findall(t51[0].partition("{")[2]))["type"] if t51 else die("no state of 0x51")
f51 = dict(fid="0x00000051", slot="0051:00:00.0", type=t51)
states = {k: v for k, v in scrape.items() if k.startswith("zpcid_function_state{") and 'fid="0x00000051"' in k}
if len(states) != 6 or sum(states.values()) != 1 or states.get(S("zpcid_function_state", state="failed", **f51)) != 1:
    die(f"states of 0x51: {states}")
if scrape.get(S("zpcid_errors_total", pec_class="permanent", **f51)) != 1: die("errors by class of 0x51")
owners = [k for k in scrape if k.startswith("zpcid_function_owner_info{")]
if len(owners) != 1 or 'fid="0x00000021"' not in owners[0] or 'command="qemu-system-s39"' not in owners[0] or scrape[owners[0]] != 1:
    die(f"owner_info: {owners}")
if scrape.get(S("zpcid_actions_total", action="alert", result="done", **f51)) != 1: die("alert action of 0x51")
f22 = [k for k in scrape if k.startswith("zpcid_errors_total{") and 'fid="0x00000022"' in k and 'pec_class="recoverable"' in k]
if len(f22) != 1 or scrape[f22[0]] != 1: die(f"recoverable error of 0x22: {f22}")
# zpcictl's view: the same series (it has no start time and no kernel log count)
only = {k.split("{")[0] for k in set(daemon) ^ set(ctl)} - {"zpcid_start_time_seconds", "zpcid_kmsg_missed_records_total"}
if only: die(f"zpcictl metrics and the textfile differ in {only}")
for k in ctl:
    if k in daemon and k != STALL and ctl[k] != daemon[k]: die(f"{k}: zpcictl {ctl[k]}, textfile {daemon[k]}")
print("ok: node_exporter exports", sum(1 for k in scrape if k.startswith("zpcid_")), "zpcid series, scrape error 0")
PY
	# The control: the same node_exporter refuses an OpenMetrics stateset.
	printf '# TYPE zpcid_old stateset\nzpcid_old{zpcid_old="ok"} 1\n# EOF\n' >"$tf/control.prom"
	$PY -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
		"$url" | grep -qx 'node_textfile_scrape_error 1' || fail "node_exporter accepted a stateset: the check proves nothing"
	rm -f "$tf/control.prom"
	pass "node_exporter exports the daemon's textfile; promtool has no findings"
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD
	"step_$2"
	exit 0
fi

command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
[ -x "$NODE_EXPORTER" ] || skip "$NODE_EXPORTER is not installed (Debian package prometheus-node-exporter)"
SELF=$(realpath "$0")
simbus_require
simbus_enter_ns "$@"
simbus_start

mkdir -p "$T/textfile"
cat >"$T/zpcid.json" <<JSON
{ "schema": 1,
  "metrics": { "textfile_directory": "$T/textfile", "interval": "1s" },
  "actions": { "alert_command": [ "/bin/true" ] },
  "policy": { "rules": [ { "name": "permanent", "match": { "pec_class": "permanent" }, "actions": [ "log", "alert" ] } ] } }
JSON
cat >"$T/scenario" <<SC
run bash $SELF --step wait_bus
hold fid=0x21
run bash $SELF --step find_holder
inject fid=0x51 pec=0x40
inject fid=0x22 pec=0x12
run bash $SELF --step scrape
SC
simbus_sim --quiet --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" --scenario "$T/scenario" ||
	fail "the scenario failed"

# The daemon stopped: the file says so, and is still clean.
grep -qx 'zpcid_up 0' "$T/textfile/zpcid.prom" || fail "no zpcid_up 0 after the stop: $(cat "$T/textfile/zpcid.prom")"
promtool_clean "textfile after the stop" <"$T/textfile/zpcid.prom"
pass "zpcid_up 0 after the stop"
exit 0
