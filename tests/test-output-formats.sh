#!/bin/bash
# Machine output to s390-tools util_fmt's rules, with hostile strings — a
# command substitution, backticks, quotes, backslashes, newlines, control
# characters, non-ASCII, the RS byte — in every string field of records of
# every format (common/output through tests/output-dump, as zpcictl uses it):
#  - json, jsonl, json-seq (RFC 7464: RS before each record) parse back to
#    the records;
#  - pairs parse back with util_fmt's rules (name[i] list items, "."
#    between members, strings quoted with the backslash escapes \" \$ \` \\
#    \a \b \e \f \n \r \t \v and \xhh, numbers bare, nulls left out) to the
#    records; bash's eval of the whole output runs nothing, and eval of a
#    value gives the string back (control characters in their escaped form);
#  - csv parses back with util_fmt's rules (key names bare, strings in
#    double quotes with "" inside, numbers bare, no value as ""), every key
#    of every record a column;
#  - format names in any case; FMT_NOMETA=1 leaves the meta object out.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DUMP=$BUILD/tests/output-dump
[ -x "$DUMP" ] || fail "build tests/output-dump first (make check builds it)"
T=$(mktemp -d /tmp/zpcid-output.XXXXXX)
trap 'rm -rf "$T"' EXIT

python3 - "$DUMP" "$T" <<'PY' || fail "machine output does not follow util_fmt's rules"
import csv, io, json, os, subprocess, sys
DUMP, T = sys.argv[1], sys.argv[2]
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)

HOSTILE = ["$(touch p1)", "`touch p2`", "${x:=$(touch p3)}", '"; touch p4; "', "'; touch p5; '",
           "a\\", '\\"', "line1\nline2; touch p6", "tab\there", "\x01\x02\x1b[31mred\x7f",
           "ünïcødé µs", "!! $HOME *", 'a,b,"c"', "\r\n", "", " lead and trail ", "\x1e{}",
           "\\x41\\n", "\a\b\f\v\r\t"]
def record(i, h):
    return {"fid": 16 + i, "who": h, "why": HOSTILE[-1 - i], "online": i % 2 == 0,
            "last_error": {"message": h, "pec": 58}, "tags": [h, "plain", HOSTILE[(i + 3) % len(HOSTILE)]],
            "gone": None}
RECORDS = [record(i, h) for i, h in enumerate(HOSTILE)]

def run(fmt, mode, records=RECORDS, env=None):
    p = subprocess.run([DUMP, fmt, "functions", mode], input=json.dumps(records).encode(),
                       capture_output=True, env=dict(os.environ, **(env or {})))
    if p.returncode != 0: die(f"output-dump {fmt} {mode}: {p.stderr.decode()}")
    return p.stdout

META = {"api_level": 1, "version": "1.0", "host": "lpar1", "time_epoch": 1699494369}

def flatten(v, path, out, nulls=False):
    if isinstance(v, dict):
        for k, x in v.items(): flatten(x, f"{path}.{k}" if path else k, out, nulls)
    elif isinstance(v, list):
        for i, x in enumerate(v): flatten(x, f"{path}[{i}]", out, nulls)
    elif v is not None or nulls:
        out[path] = v
    return out

# --- JSON formats ---
for mode in ("list", "stream"):
    d = json.loads(run("json", "list"))
    if d["functions"] != RECORDS: die("json: records differ")
    if {k: d["meta"][k] for k in META} != META: die(f"json: meta {d['meta']}")
    lines = run("jsonl", mode).decode().splitlines()
    if json.loads(lines[0])["meta"]["api_level"] != 1: die("jsonl: no meta line")
    if [json.loads(l)["functions"] for l in lines[1:]] != RECORDS: die(f"jsonl ({mode}): records differ")
    raw = run("json-seq", mode).decode()
    if not raw.startswith("\x1e"): die("json-seq: no RS before the first record")
    parts = raw.split("\x1e")[1:]
    # RS never occurs inside a record: JSON escapes it
    if len(parts) != 1 + len(RECORDS) or not all(p.endswith("\n") for p in parts): die(f"json-seq ({mode}): {len(parts)} records")
    if json.loads(parts[0])["meta"]["api_level"] != 1: die("json-seq: no meta record")
    if [json.loads(p)["functions"] for p in parts[1:]] != RECORDS: die(f"json-seq ({mode}): records differ")
print("ok: json, jsonl, json-seq round-trip every hostile string")

# --- pairs, parsed with util_fmt's rules ---
ESC = {'"': '"', "$": "$", "`": "`", "\\": "\\", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f",
       "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
def unquote(v, line):
    if not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'): die(f"pairs: unterminated string: {line!r}")
    out, i, s = bytearray(), 1, v[:-1]
    while i < len(s):
        c = s[i]
        if c == "\\":
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            if n not in ESC: die(f"pairs: unknown escape \\{n} in {line!r}")
            out += ESC[n].encode(); i += 2; continue
        if c in '"$`' or ord(c) < 0x20 or ord(c) >= 0x7f: die(f"pairs: {c!r} unescaped in {line!r}")
        out += c.encode(); i += 1
    return out.decode()
def parse_pairs(raw):
    got = {}
    for line in raw.decode("ascii").split("\n")[:-1]:   # ASCII only: every other byte is escaped
        k, sep, v = line.partition("=")
        if not sep: die(f"pairs: no '=' in {line!r}")
        if v.startswith('"'): got[k] = unquote(v, line)
        elif v in ("true", "false"): got[k] = v == "true"
        else: got[k] = int(v)
    return got
for mode in ("list", "stream"):
    raw = run("pairs", mode)
    got = parse_pairs(raw)
    want = flatten({"meta": META}, "", {})
    want.update(flatten({"functions": RECORDS}, "", {}))
    got.pop("meta.time")
    if got != want:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
        die(f"pairs ({mode}) differ: {diff}")
if "functions[0].tags[1]" not in got or "functions[0].gone" in got: die("pairs: list items or nulls")
print("ok: pairs parse back with util_fmt's rules:", len(got), "values")

# bash: eval of the whole output runs nothing; eval of each value gives it back
os.mkdir(f"{T}/eval")
open(f"{T}/out.pairs", "wb").write(raw)
subprocess.run(["bash", "-c", 'command_not_found_handle() { return 0; }; eval "$(cat "$1")"', "_",
                f"{T}/out.pairs"], cwd=f"{T}/eval", capture_output=True)
if os.listdir(f"{T}/eval"): die(f"eval of pairs output ran commands: {os.listdir(T + '/eval')}")
p = subprocess.run(["bash", "-c", 'while IFS= read -r l; do v=${l#*=}; eval "val=$v"; printf "%s\\0%s\\0" "${l%%=*}" "$val"; done <"$1"',
                    "_", f"{T}/out.pairs"], cwd=f"{T}/eval", capture_output=True)
if p.returncode != 0 or os.listdir(f"{T}/eval"): die(f"eval of the values: {p.stderr}")
f = p.stdout.split(b"\0")[:-1]
evald = dict(zip([x.decode() for x in f[0::2]], f[1::2]))
def shown(s):  # what bash leaves of a byte util_fmt escapes other than " $ ` \
    out = ""
    for b in s.encode():
        c = chr(b)
        e = [k for k, v in ESC.items() if v == c and k not in '"$`\\']
        out += "\\" + e[0] if e else c if 0x20 <= b < 0x7f else "\\x%02x" % b
    return out
n = 0
for k, v in want.items():
    if not isinstance(v, str): continue
    if evald[k].decode("ascii") != shown(v): die(f"eval of {k}: {evald[k]!r}, expected {shown(v)!r}")
    if all(0x20 <= b < 0x7f for b in v.encode()) and evald[k].decode() != v: die(f"eval of {k} changed it")
    n += 1
print(f"ok: bash eval of pairs output runs nothing; {n} string values come back from eval")

# --- csv, parsed with util_fmt's rules ---
for mode in ("list", "stream"):
    raw = run("csv", mode).decode()
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    head, body = rows[0], rows[1:]
    if head[:5] != ["meta.api_level", "meta.version", "meta.host", "meta.time_epoch", "meta.time"]: die(f"csv header {head}")
    if not raw.startswith("meta.api_level,meta.version,"): die("csv: header names quoted")
    if len(body) != len(RECORDS): die(f"csv ({mode}): {len(body)} rows")
    keys = set()
    for r in RECORDS: keys |= set(flatten(r, "", {}, nulls=True))  # a null is a column too, its cells ""
    if mode == "list" and set(head[5:]) != keys: die(f"csv: columns {set(head[5:]) ^ keys}")
    if head[5:7] != ["fid", "who"]: die("csv: the columns' keys do not come first")
    for rec, row in zip(RECORDS, body):
        fl = flatten(rec, "", {})
        for k, cell in zip(head[5:], row[5:]):
            v = fl.get(k)
            w = "" if v is None else ("true" if v else "false") if isinstance(v, bool) else str(v)
            if cell != w: die(f"csv ({mode}) {k}: {cell!r}, expected {w!r}")
    line1 = raw.split("\n")[1]
    if not line1.startswith('1,"1.0","lpar1",1699494369,"'): die(f"csv: numbers quoted or strings bare: {line1!r}")
print("ok: csv parses back with util_fmt's rules, every key a column")

# --- format names in any case; FMT_NOMETA ---
for a, b in (("PAIRS", "pairs"), ("Json-Seq", "json-seq"), ("CSV", "csv"), ("JSONL", "jsonl")):
    if run(a, "list") != run(b, "list"): die(f"{a} differs from {b}")
nm = {"FMT_NOMETA": "1"}
if "meta" in json.loads(run("json", "list", env=nm)): die("FMT_NOMETA: json has meta")
if "meta" in json.loads(run("jsonl", "list", env=nm).decode().splitlines()[0]): die("FMT_NOMETA: jsonl")
if json.loads(run("json-seq", "list", env=nm).decode().split("\x1e")[1]).get("meta"): die("FMT_NOMETA: json-seq")
if b"meta." in run("pairs", "list", env=nm): die("FMT_NOMETA: pairs")
if run("csv", "list", env=nm).startswith(b"meta"): die("FMT_NOMETA: csv")
if "meta" not in json.loads(run("json", "list", env={"FMT_NOMETA": "0"})): die("FMT_NOMETA=0 drops meta")
print("ok: format names in any case; FMT_NOMETA=1 leaves the meta object out")
PY
pass "every format to util_fmt's rules, hostile strings included"
exit 0
