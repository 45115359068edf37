#!/usr/bin/python3
"""Judge the console log of the zpcid s390x test guest.

tests/s390x/guest-init.sh prints facts ("=== ZT FACT key=value") and the
output of commands in blocks ("=== ZT BEGIN name" ... "=== ZT END name
rc=N").  This script compares what zpcid and zpcictl said with what the
kernel showed, and prints one line per check:

    PASS name: what was verified
    FAIL name: what differed
    SKIP name: why the check could not run

Exit status: 1 when a check failed, 77 when none failed but some were
skipped, 0 when every check passed.

A check is only skipped when the thing it needs does not exist in the
build (no zpcictl program, a subcommand zpcictl does not offer): as soon as
it exists, a wrong or missing answer is a failure.
"""

import argparse
import json
import os
import re
import sys

# The scene set up by guest-init.sh.
FIDS = {
    0x21: {"driver": "vfio-zpci-err", "what": "e1000e (PCIe), zpcid owns it, errors injected"},
    0x22: {"driver": "vfio-pci", "what": "e1000e (PCIe), stock vfio-pci, zpcid asked to own it"},
    0x23: {"driver": "e1000e", "what": "e1000e (PCIe), left to the kernel"},
    0x10: {"driver": "virtio-pci", "what": "virtio-rng (PCI), bound and unbound at run time"},
    0x12: {"driver": "vfio-pci", "what": "virtio-rng (PCI), stock vfio-pci, observed"},
    0x24: {"driver": "vfio-zpci-err", "what": "e1000e (PCIe), held by zpcid-test-delegate, delegated"},
}
INJECTED = [0x1, 0x3A, 0x40]
BURST = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15]
QUEUE_DEPTH = 4
RPCIT_FID = 0x23
RPCIT_PEC = 0x2
NOTTY_FID = 0x22
OWN_FID = 0x21
BIND_FID = 0x10
DELEGATED_FID = 0x24
DELEGATED = [0x3, 0x9]
LATENCY_COUNT = 200


class Results:
    def __init__(self):
        self.lines = []

    def add(self, verdict, name, text):
        self.lines.append((verdict, name, " ".join(str(text).split())))

    def ok(self, name, text):
        self.add("PASS", name, text)

    def fail(self, name, text):
        self.add("FAIL", name, text)

    def skip(self, name, text):
        self.add("SKIP", name, text)

    def check(self, name, cond, good, bad):
        if cond:
            self.ok(name, good)
        else:
            self.fail(name, bad)
        return cond


def parse_console(path):
    facts, multi, blocks, rcs = {}, [], {}, {}
    cur, buf = None, []
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace").replace("\r", "")
    for line in text.split("\n"):
        m = re.match(r"^=== ZT FACT (\S+?)=(.*)$", line)
        if m and cur is None:
            facts[m.group(1)] = m.group(2).strip()
            multi.append((m.group(1), m.group(2).strip()))
            continue
        m = re.match(r"^=== ZT BEGIN (\S+)$", line)
        if m:
            cur, buf = m.group(1), []
            continue
        m = re.match(r"^=== ZT END (\S+) rc=(-?\d+)(?: t=\S+)?$", line)
        if m and cur == m.group(1):
            blocks[cur] = "\n".join(buf)
            rcs[cur] = int(m.group(2))
            cur = None
            continue
        if cur is not None:
            buf.append(line)
    return text, facts, multi, blocks, rcs


def num(v):
    """A number as zpcid or sysfs may write it: 33, "33", "0x21", "0x00000021"."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v.strip(), 0)
        except ValueError:
            try:
                return int(v.strip(), 16)
            except ValueError:
                return None
    return None


def sysfs_functions(block):
    """The functions-* blocks: {fid: {attr: value}}."""
    out = {}
    for line in (block or "").splitlines():
        attrs = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        fid = num(attrs.get("function_id"))
        if fid is not None:
            out[fid] = attrs
    return out


def json_of(block):
    if block is None:
        return None
    s = block.strip()
    start = min([i for i in (s.find("{"), s.find("[")) if i >= 0], default=-1)
    if start < 0:
        return None
    try:
        return json.loads(s[start:])
    except ValueError:
        return None


def dict_lists(o):
    """Every list of objects inside a JSON document."""
    if isinstance(o, list):
        if o and all(isinstance(x, dict) for x in o):
            yield o
        for x in o:
            yield from dict_lists(x)
    elif isinstance(o, dict):
        for x in o.values():
            yield from dict_lists(x)


def records_with(o, key):
    best = []
    for lst in dict_lists(o):
        if any(key in x for x in lst) and len(lst) > len(best):
            best = lst
    return best


def sources(e):
    s = e.get("source", "")
    if isinstance(s, list):
        return set(s)
    return set(x.strip() for x in str(s).split(",") if x.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--check-config")
    ap.add_argument("--features", help="NAME=0|1 lines: daemon parts zpcid links")
    ap.add_argument("--bench-fids", type=int, default=0,
                    help="functions of the side-by-side run of zpcid and its floor (0: none)")
    ap.add_argument("--bench-results", metavar="FILE",
                    help="write the side-by-side run's numbers there as bench/run.sh RESULT lines")
    a = ap.parse_args()
    R = Results()
    feat = {}
    if a.features and os.path.exists(a.features):
        for line in open(a.features):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                feat[k] = v == "1"

    def absent(name, *parts):
        """Skip @name when zpcid does not link one of @parts yet."""
        miss = [p for p in parts if not feat.get(p)]
        if miss:
            R.skip(name, "zpcid does not link %s yet" % ", ".join("daemon/%s.c" % p for p in miss))
            return True
        return False

    if not os.path.exists(a.console):
        print("FAIL boot: no console log")
        return 1
    text, facts, multi, blocks, rcs = parse_console(a.console)

    # ---- the environment itself -------------------------------------------
    if not R.check("boot", "=== ZT DONE" in text,
                   "guest booted %s and ran /init to the end (%s s)" % (facts.get("kernel"), facts.get("init_end")),
                   "guest did not reach the end of /init"):
        emit(R)
        return 1
    boot = sysfs_functions(blocks.get("functions-boot"))
    missing = [f for f in FIDS if f not in boot]
    wrong = ["0x%x:%s (want %s)" % (f, boot[f].get("driver"), FIDS[f]["driver"])
             for f in FIDS if f in boot and boot[f].get("driver") != FIDS[f]["driver"]]
    R.check("scene", not missing and not wrong,
            "%d zPCI functions with fid/uid as configured, bound as planned" % len(FIDS),
            "functions missing %s, wrong driver %s" % (["0x%x" % f for f in missing], wrong))
    dmesg = blocks.get("dmesg", "")
    pat = r"Event 0x%x reports an error for PCI function 0x%x" % (RPCIT_PEC, RPCIT_FID)
    kernel_rpcit = re.search(pat, dmesg) is not None
    R.check("kernel-rpcit-event", kernel_rpcit,
            "the platform raised a real error event: kernel logged '%s'" % pat,
            "no '%s' in the kernel log after the out-of-range RPCIT" % pat)
    inj = [p for p in INJECTED + BURST
           if not re.search(r"Event 0x%x reports an error for PCI function 0x%x\b" % (p, OWN_FID), dmesg)]
    R.check("kernel-injection", not inj,
            "the kernel logged all %d events injected on fid 0x%x through kmod/module" % (len(INJECTED + BURST), OWN_FID),
            "the kernel did not log injected PECs %s" % ["0x%x" % p for p in inj])
    uev = blocks.get("uevents", "")
    R.check("udevd", facts.get("udevd_rc") == "0" and re.search(r"^UDEV +\[", uev, re.M) is not None,
            "systemd-udevd ran and re-broadcast uevents to the udev group",
            "systemd-udevd did not run or broadcast nothing (rc %s)" % facts.get("udevd_rc"))
    recovery_uevent = re.search(r"^ERROR_EVENT=", uev, re.M) is not None

    # ---- the daemon ------------------------------------------------------------
    cc = open(a.check_config).read() if a.check_config and os.path.exists(a.check_config) else ""
    R.check("test-policy-valid", cc.rstrip().endswith("rc=0") and rcs.get("check-config") == 0,
            "shipped conf/zpcid.json plus the test drop-in accepted by zpcid --check-config",
            "zpcid --check-config rejected the configuration: %s %s" % (cc.strip()[-400:], blocks.get("check-config", "")[-400:]))
    started = facts.get("zpcid_running_after_start") == "1"
    R.check("zpcid-runs", started and facts.get("zpcid_running_at_end") == "1" and facts.get("zpcid_exit") == "0",
            "zpcid ran through the whole scenario and exited 0 on SIGTERM",
            "zpcid: running after start %s, at end %s, exit status %s; log tail: %s" % (
                facts.get("zpcid_running_after_start"), facts.get("zpcid_running_at_end"),
                facts.get("zpcid_exit"), blocks.get("zpcid-log", "")[-600:]))
    zlog = blocks.get("zpcid-log", "")
    bus_ready = started and facts.get("zpcid_bus_name_owned") == "1"

    # ---- zpcictl -----------------------------------------------------------------
    have_ctl = os.path.isfile(os.path.join(a.build, "zpcictl", "zpcictl"))
    helptext = blocks.get("zpcictl-help", "")

    def ctl_skip(name, sub):
        if not have_ctl:
            R.skip(name, "zpcictl is not built in this tree yet")
            return True
        if not re.search(r"\b%s\b" % sub, helptext):
            R.skip(name, "zpcictl --help does not offer '%s' yet" % sub)
            return True
        return False

    if not absent("bus-name", "bus"):
        R.check("bus-name", bus_ready, "zpcid owns org.zpcid1 on the guest's system bus",
                "zpcid never owned org.zpcid1 on the system bus")

    # discovery: attributes as the kernel shows them
    if not absent("discovery", "registry", "bus") and not ctl_skip("discovery", "list"):
        lst = records_with(json_of(blocks.get("list-start")), "fid")
        if rcs.get("list-start") != 0 or not lst:
            mo = blocks.get("managed-objects")
            where = ""
            if mo is not None:
                where = " (the daemon's own GetManagedObjects reply: %s)" % (
                    "an error: " + mo[:300] if rcs.get("managed-objects") != 0 else "fine, so zpcictl failed to read it")
            R.fail("discovery", "zpcictl list --format json: rc %s, no function records: %s%s" % (
                rcs.get("list-start"), blocks.get("list-start", "")[:400], where))
        else:
            problems, compared = compare_functions(lst, boot)
            R.check("discovery", not problems,
                    "every function listed with the kernel's attributes (%s)" % ", ".join(sorted(compared)),
                    "; ".join(problems))

    # bind / unbind at run time
    if not absent("bind-unbind", "registry", "bus") and not ctl_skip("bind-unbind", "list"):
        b = by_fid(records_with(json_of(blocks.get("list-bound")), "fid"))
        u = by_fid(records_with(json_of(blocks.get("list-unbound")), "fid"))
        kb = sysfs_functions(blocks.get("functions-bound")).get(BIND_FID, {})
        ku = sysfs_functions(blocks.get("functions-unbound")).get(BIND_FID, {})
        rb, ru = b.get(BIND_FID), u.get(BIND_FID)
        if kb.get("driver") != "vfio-pci" or ku.get("driver") != "":
            R.fail("bind-unbind", "the kernel did not bind/unbind 0x%x as planned (%s, %s)" % (BIND_FID, kb.get("driver"), ku.get("driver")))
        elif rb is None or ru is None:
            R.fail("bind-unbind", "function 0x%x missing from zpcictl list after bind (%s) or unbind (%s)" % (BIND_FID, rb is not None, ru is not None))
        elif "driver" not in rb:
            R.fail("bind-unbind", "zpcictl list shows no 'driver' for 0x%x: %s" % (BIND_FID, rb))
        else:
            R.check("bind-unbind", rb.get("driver") == "vfio-pci" and not ru.get("driver"),
                    "zpcid followed 0x%x to vfio-pci and back to no driver" % BIND_FID,
                    "after bind driver=%r, after unbind driver=%r (want 'vfio-pci', none)" % (rb.get("driver"), ru.get("driver")))

    # own mode, drained CCDFs, policy reset
    events = None
    if absent("own-drain", "bus", "vfio-function"):
        pass
    elif not ctl_skip("own-drain", "events"):
        evdoc = json_of(blocks.get("events"))
        events = records_with(evdoc, "kind") if evdoc is not None else None
        if rcs.get("events") != 0 or events is None:
            R.fail("own-drain", "zpcictl events --format json: rc %s, output %s" % (rcs.get("events"), blocks.get("events", "")[:400]))
            events = None
    else:
        events = None
    needs = {"own-burst": ("bus", "vfio-function"), "own-reset": ("bus", "vfio-function", "actions"),
             "own-log": ("vfio-function",), "kernel-function-event": ("bus", "kmsg"),
             "kernel-function-recovery": ("bus", "registry")}
    if events is not None:
        check_own(R, events, boot, zlog, facts, absent, needs)
        check_kernel_function(R, events, kernel_rpcit, recovery_uevent, absent, needs)
    else:
        for n, parts in needs.items():
            if n == "own-log" and not absent(n, *parts):
                check_own_log(R, zlog)
                continue
            if absent(n, *parts):
                continue
            if have_ctl and re.search(r"\bevents\b", helptext):
                R.fail(n, "no usable zpcictl events output")
            else:
                R.skip(n, "needs 'zpcictl events' (%s)" % ("not offered yet" if have_ctl else "zpcictl not built yet"))
    if not absent("own-feature-absent", "vfio-function"):
        check_notty(R, zlog, blocks, have_ctl, helptext, started, facts)
    if not absent("delegated-drain", "bus", "vfio-function") and not ctl_skip("delegated-drain", "events"):
        check_delegated(R, events, blocks, rcs, facts)
    if not absent("latency", "bus", "vfio-function"):
        check_latency(R, blocks, rcs, facts)
    if a.bench_fids > 0 and not absent("bench", "bus", "vfio-function"):
        check_bench(R, blocks, rcs, facts, a.bench_fids)
        if a.bench_results:
            with open(a.bench_results, "w") as f:
                f.write(bench_results(blocks, a.bench_fids))
    emit(R)
    if any(v == "FAIL" for v, _, _ in R.lines):
        return 1
    if any(v == "SKIP" for v, _, _ in R.lines):
        return 77
    return 0


def by_fid(lst):
    return {num(x.get("fid")): x for x in lst if num(x.get("fid")) is not None}


def compare_functions(lst, boot):
    """Compare zpcictl list records with the sysfs attributes."""
    recs = by_fid(lst)
    problems, compared = [], set()
    pairs = [  # (record key, sysfs attribute, numeric?)
        ("fh", "function_handle", True), ("function_handle", "function_handle", True),
        ("uid", "uid", True), ("pchid", "pchid", True), ("pft", "pft", True),
        ("vfn", "vfn", True), ("port", "port", True), ("pfgid", "pfgid", True),
        ("vendor", "vendor", True), ("device", "device", True), ("slot", "slot", False),
        ("uid_is_unique", "uid_is_unique", None), ("driver", "driver", False),
    ]
    for fid, attrs in boot.items():
        r = recs.get(fid)
        if r is None:
            problems.append("function 0x%x (%s) not listed" % (fid, attrs.get("slot")))
            continue
        for key, attr, numeric in pairs:
            if key not in r or attr not in attrs:
                continue
            want, got = attrs[attr], r[key]
            if fid == BIND_FID and key == "driver":
                continue  # 0x10 changes its driver during the run
            if numeric is None:
                same = bool(num(want)) == bool(got if isinstance(got, bool) else num(got))
            elif numeric:
                same = num(got) == num(want)
            else:
                same = (got or "") == (want or "")
            compared.add(key)
            if not same:
                problems.append("0x%x %s: zpcictl %r, sysfs %r" % (fid, key, got, want))
    for key in ("slot", "uid", "pchid", "pft"):
        if key not in compared:
            problems.append("zpcictl list shows no '%s'" % key)
    extra = [f for f in recs if f not in boot]
    if extra:
        problems.append("functions listed that the kernel does not have: %s" % ["0x%x" % f for f in extra])
    return problems, compared


def event_order(e):
    for k in ("seq", "monotonic", "time"):
        if num(e.get(k)) is not None:
            return (num(e.get(k)),)
    return (0,)


def check_own(R, events, boot, zlog, facts, absent, needs):
    events = sorted(events, key=event_order)  # whatever order zpcictl prints
    errs = [e for e in events if e.get("kind") == "error" and num(e.get("fid")) == OWN_FID]
    drained = [e for e in errs if "vfio" in sources(e)]
    pecs = [num(e.get("pec")) for e in drained]
    fh = num(boot.get(OWN_FID, {}).get("function_handle"))
    want_single = INJECTED
    want_burst = BURST[:QUEUE_DEPTH]
    lost = BURST[QUEUE_DEPTH:]
    probs = []
    all_pecs = [num(e.get("pec")) for e in errs]
    for p in want_single + want_burst:
        n = pecs.count(p)
        if n != 1:
            probs.append("PEC 0x%x drained %d times (want 1)" % (p, n))
        elif all_pecs.count(p) != 1:
            # the kernel log line of the same error must be merged into it
            probs.append("PEC 0x%x recorded %d times (kernel log and CCDF not merged)" % (p, all_pecs.count(p)))
    for p in lost:
        if p in pecs:
            probs.append("PEC 0x%x was dropped by the kernel but reported as drained" % p)
    for e in drained:
        if e.get("fh") is not None and fh is not None and num(e.get("fh")) & 0x7FFFFFFF != fh & 0x7FFFFFFF:
            probs.append("PEC 0x%x with fh %s, function has 0x%x" % (num(e.get("pec")), e.get("fh"), fh))
    order = [p for p in pecs if p in want_single + want_burst]
    if not probs and order != want_single + want_burst:
        probs.append("drained in the order %s" % ["0x%x" % p for p in order])
    R.check("own-drain", not probs,
            "fid 0x%x: PECs %s decoded from drained CCDFs, once each, in order" % (OWN_FID, ", ".join("0x%x" % p for p in want_single + want_burst)),
            "; ".join(probs) or "no drained errors")
    if facts.get("pending_in_burst") != str(QUEUE_DEPTH) or facts.get("dropped_in_burst") != str(len(lost)):
        R.fail("own-burst", "the kernel queue held %s and dropped %s of the burst (want %d and %d): zpcid did not hold the device open" % (
            facts.get("pending_in_burst"), facts.get("dropped_in_burst"), QUEUE_DEPTH, len(lost)))
    else:
        dropped = [e for e in events if e.get("kind") == "dropped" and num(e.get("fid")) == OWN_FID]
        R.check("own-burst", bool(dropped) and sum(num(e.get("count")) or 0 for e in dropped) >= len(lost),
                "queue overflowed (4 kept, %d dropped); the loss is reported (kind dropped)" % len(lost),
                "no 'dropped' record for the %d events lost in the burst (have %s)" % (len(lost), dropped))
    if not absent("own-reset", *needs["own-reset"]):
        resets = [e for e in events if e.get("kind") == "action" and num(e.get("fid")) == OWN_FID and e.get("action") == "reset"]
        done = [e for e in resets if e.get("result") == "done" and "VFIO_DEVICE_RESET" in str(e.get("detail"))]
        R.check("own-reset", bool(done),
                "the policy's reset ran through VFIO_DEVICE_RESET (%d done, %d in all)" % (len(done), len(resets)),
                "no reset with result done for fid 0x%x (reset records: %s)" % (OWN_FID, [(e.get("result"), e.get("detail")) for e in resets]))
    check_own_log(R, zlog)


def check_own_log(R, zlog):
    want_single = INJECTED
    want_burst = BURST[:QUEUE_DEPTH]
    logged = []
    # journal fields on the console: ZPCID_SOURCE names where the record came from
    lines = [l for l in zlog.splitlines()
             if re.search(r"ZPCI_FID=0x0*%x\b" % OWN_FID, l) and re.search(r"ZPCID_SOURCE=\S*vfio", l)]
    for p in want_single + want_burst:
        if not any(re.search(r"ZPCI_PEC=0x0*%x\b" % p, l) for l in lines):
            logged.append("0x%x" % p)
    R.check("own-log", not logged,
            "zpcid logged every drained PEC of function 0x%x with its CCDF source (ZPCID_SOURCE vfio)" % OWN_FID,
            "zpcid's log has no drained (ZPCID_SOURCE vfio) record of fid 0x%x with PEC %s" % (OWN_FID, ", ".join(logged)))


def check_kernel_function(R, events, kernel_rpcit, recovery_uevent, absent, needs):
    if absent("kernel-function-event", *needs["kernel-function-event"]):
        pass
    elif not kernel_rpcit:
        R.fail("kernel-function-event", "the kernel reported no error event to compare with")
    else:
        e = [x for x in events if x.get("kind") == "error" and num(x.get("fid")) == RPCIT_FID and num(x.get("pec")) == RPCIT_PEC]
        R.check("kernel-function-event", len(e) == 1 and "kmsg" in sources(e[0]),
                "the real error event of fid 0x%x (PEC 0x%x) reported once, from the kernel log" % (RPCIT_FID, RPCIT_PEC),
                "want one error PEC 0x%x fid 0x%x from kmsg, have %s" % (RPCIT_PEC, RPCIT_FID, e))
    if absent("kernel-function-recovery", *needs["kernel-function-recovery"]):
        pass
    elif not recovery_uevent:
        R.skip("kernel-function-recovery", "the kernel sent no ERROR_EVENT uevent in this run")
    else:
        rec = [x for x in events if x.get("kind") == "recovery" and num(x.get("fid")) == RPCIT_FID]
        R.check("kernel-function-recovery", bool(rec) and all("uevent" in sources(x) for x in rec),
                "the kernel's recovery of fid 0x%x reported from its uevents (%s)" % (RPCIT_FID, [x.get("recovery") for x in rec]),
                "no recovery records for fid 0x%x from uevents (have %s)" % (RPCIT_FID, rec))


def check_notty(R, zlog, blocks, have_ctl, helptext, started, facts):
    name = "own-feature-absent"
    if not started:
        R.fail(name, "zpcid did not run")
        return
    line = [l for l in zlog.splitlines()
            if re.search(r"0x0*22\b|0022:00:00\.0", l) and re.search(r"feature|ENOTTY|Inappropriate ioctl|not supported|unsupported", l, re.I)]
    if facts.get("zpcid_running_at_end") != "1":
        R.fail(name, "zpcid did not survive")
        return
    listed = by_fid(records_with(json_of(blocks.get("list-start")), "fid")).get(NOTTY_FID, {})
    if not line:
        R.fail(name, "zpcid's log says nothing about the missing error feature on fid 0x%x" % NOTTY_FID)
    else:
        R.check(name, listed.get("mode") == "observe",
                "fid 0x%x on stock vfio-pci: zpcid said the error feature is absent, observes it and went on: %s" % (NOTTY_FID, line[0]),
                "fid 0x%x: zpcid said the feature is absent but lists it in mode %r (want 'observe')" % (NOTTY_FID, listed.get("mode")))


def check_delegated(R, events, blocks, rcs, facts):
    """Delegated mode: the owner's fd passed over D-Bus, its errors drained by zpcid."""
    log = blocks.get("delegate")
    if log is None:
        R.fail("delegated-drain", "the guest did not run zpcid-test-delegate (no 'delegate' block)")
        R.fail("delegated-signals", "the guest did not run zpcid-test-delegate")
        return
    m = re.search(r"^delegate (\S+)$", log, re.M)
    if not m:
        err = [l for l in log.splitlines() if "error" in l]
        R.fail("delegated-drain", "Delegate(h, a{sv}) did not succeed: %s" % (err or log[:300]))
        R.fail("delegated-signals", "nothing was delegated")
        return
    want_path = "/org/zpcid1/function/%08x" % DELEGATED_FID
    probs = []
    if m.group(1) != want_path:
        probs.append("Delegate returned %s (want %s)" % (m.group(1), want_path))
    lst = by_fid(records_with(json_of(blocks.get("list-delegated")), "fid"))
    mode = lst.get(DELEGATED_FID, {}).get("mode")
    if mode != "delegated":
        probs.append("zpcictl list shows fid 0x%x in mode %r after Delegate (want 'delegated')" % (DELEGATED_FID, mode))
    if events is None:
        probs.append("no usable zpcictl events output")
    else:
        errs = [e for e in sorted(events, key=event_order)
                if e.get("kind") == "error" and num(e.get("fid")) == DELEGATED_FID]
        for p in DELEGATED:
            got = [e for e in errs if num(e.get("pec")) == p]
            if len(got) != 1:
                probs.append("PEC 0x%x recorded %d times (want 1)" % (p, len(got)))
            elif "delegated" not in sources(got[0]):
                probs.append("PEC 0x%x has source %r, not drained through the delegated fd" % (p, got[0].get("source")))
    if facts.get("pending_after_delegated") != "0":
        probs.append("the kernel queue of 0x%x still holds %s record(s)" % (DELEGATED_FID, facts.get("pending_after_delegated")))
    R.check("delegated-drain", not probs,
            "fid 0x%x: the owner's vfio fd passed with Delegate(h, a{sv}); mode delegated; PECs %s drained through it (source delegated), once each" % (
                DELEGATED_FID, ", ".join("0x%x" % p for p in DELEGATED)),
            "; ".join(probs))
    sig = [l for l in log.splitlines() if l.startswith("signal ErrorReported ")]
    miss = [p for p in DELEGATED
            if not any(re.search(r"\bkind=error\b", l) and re.search(r"\bpec=0x0*%x\b" % p, l)
                       and re.search(r"\bsource=\S*delegated", l) for l in sig)]
    R.check("delegated-signals", not miss and facts.get("delegate_exit") == "0",
            "the owner received an ErrorReported signal for each drained PEC (%d signals)" % len(sig),
            "owner: no ErrorReported signal for PEC %s, exit status %s; its output: %s" % (
                ", ".join("0x%x" % p for p in miss), facts.get("delegate_exit"), log[-400:]))


def parse_kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def strace_counts(text):
    """strace -c -U calls,errors,name: {syscall: calls}, the "total" line included."""
    counts = {}
    for line in (text or "").splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].isdigit() and re.match(r"^[a-z_0-9]+$", f[-1]):
            counts[f[-1]] = int(f[0])
    return counts


def bench_results(blocks, n_fids):
    """The numbers of the side-by-side run, one "RESULT guest.NAME VALUE" line each."""
    out = ["RESULT guest.functions %d" % n_fids]
    for who in ("floor", "zpcid"):
        text = blocks.get("bench-latency-" + who) or ""
        for side, rest in re.findall(r"^latency (journal|bus|journal-source-\S+) (n=.*)$", text, re.M):
            for k, v in parse_kv(rest).items():
                out.append("RESULT guest.latency.%s.%s.%s %s" % (who, side.replace(",", "+"), k, v))
    for mode in ("paced", "flat"):
        for who in ("floor", "zpcid-coalesce-off", "zpcid-coalesce-on"):
            text = blocks.get("bench-storm-%s-%s" % (mode, who)) or ""
            for line in re.findall(r"^storm (.*)$", text, re.M):
                for k, v in parse_kv(line).items():
                    out.append("RESULT guest.storm.%s.%s.%s %s" % (mode, who, k, v))
    for who in ("floor", "zpcid"):
        for name, calls in sorted(strace_counts(blocks.get("bench-syscalls-" + who)).items()):
            out.append("RESULT guest.syscalls.%s.%s %d" % (who, name, calls))
    return "\n".join(out) + "\n"


def check_bench(R, blocks, rcs, facts, n_fids):
    """zpcid beside its floor: every run worked and lost nothing it must not lose.

    Timings are reported, never judged (docs/benchmarks.md); a run fails
    when a program did not start, a delivered error is missing from the
    journal or the bus, or a paced storm (injecting only into queues with
    room) saw the kernel drop a record."""
    R.check("bench/functions", facts.get("bench_slots") == str(n_fids),
            "%d functions held by vfio-zpci-err" % n_fids,
            "%s of %d bench functions bound to vfio-zpci-err" % (facts.get("bench_slots"), n_fids))
    for who in ("floor", "zpcid"):
        name = "bench-latency-" + who
        out = blocks.get(name)
        if out is None:
            R.fail("bench/latency-" + who, "%s did not start (see the console log)" % who)
            continue
        lines = {m.group(1): m.group(2) for m in re.finditer(r"^latency (journal|bus|lost) (.*)$", out, re.M)}
        lost = parse_kv(lines.get("lost", ""))
        R.check("bench/latency-" + who, rcs.get(name) == 0 and lost.get("journal") == "0" and lost.get("bus") == "0",
                "journal %s; bus %s" % (lines.get("journal"), lines.get("bus")),
                "rc %s; %s" % (rcs.get(name), out[-400:]))
    for who in ("floor", "zpcid"):
        counts = strace_counts(blocks.get("bench-syscalls-" + who))
        R.check("bench/syscalls-" + who, counts.get("total", 0) > 0 and rcs.get("bench-syscalls-%s-run" % who) is not None,
                "%d system calls under strace -c over the latency run" % counts.get("total", 0),
                "no strace summary: %s" % (blocks.get("bench-syscalls-" + who) or "the program did not start")[-400:])
    for mode in ("paced", "flat"):
        for who in ("floor", "zpcid-coalesce-off", "zpcid-coalesce-on"):
            name = "bench-storm-%s-%s" % (mode, who)
            out = blocks.get(name)
            if out is None:
                R.fail("bench/storm-%s-%s" % (mode, who), "the drainer did not start (see the console log)")
                continue
            kv = {}
            for line in re.findall(r"^storm (.*)$", out, re.M):
                kv.update(parse_kv(line))
            ok = rcs.get(name) == 0 and "per_second" in kv
            if mode == "paced":
                ok = ok and kv.get("dropped") == "0"
            R.check("bench/storm-%s-%s" % (mode, who), ok,
                    " ".join("%s=%s" % (k, kv[k]) for k in ("injected", "dropped", "journal", "signals",
                                                          "elapsed_us", "per_second", "cpu_us_per_record")
                             if k in kv),
                    "rc %s; %s" % (rcs.get(name), out[-400:]))


def check_latency(R, blocks, rcs, facts):
    """The coarse latency check: every injected error on the journal and the bus, with its timings."""
    out = blocks.get("latency")
    if out is None:
        R.fail("latency", "the guest did not run zpcid-test-latency (journald %s, zpcid %s)" % (
            facts.get("latency_journald", "?"), facts.get("latency_zpcid_ready", "?")))
        return
    got = {m.group(1): m.group(2) for m in re.finditer(r"^latency (journal|bus) (n=.*)$", out, re.M)}
    want = "n=%d " % LATENCY_COUNT
    ok = rcs.get("latency") == 0 and all(got.get(k, "").startswith(want) for k in ("journal", "bus"))
    R.check("latency", ok,
            "%d injected errors, each on the journal and as a signal; error -> journal %s; error -> signal %s (microseconds)" % (
                LATENCY_COUNT, got.get("journal", "")[len(want):], got.get("bus", "")[len(want):]),
            "zpcid-test-latency: rc %s; %s" % (rcs.get("latency"), out[-500:]))


def emit(R):
    for v, n, t in R.lines:
        print("%s %s: %s" % (v, n, t))


if __name__ == "__main__":
    sys.exit(main())
