#!/usr/bin/python3
"""Judge the console log of the patched-kernel guest.

tests/s390x/kernel-guest-init.sh prints facts and command output (the
format of tests/s390x/guest-init.sh, whose parser this script reuses); the
checks compare them with the kernel semantics of DESIGN's kernel facts:
upstream's zPCI error feature and mediated recovery.  One line per check:

    PASS name: what was verified
    FAIL name: what differed
    SKIP name: why the check could not run

Exit status: 1 when a check failed, 77 when none failed but some were
skipped, 0 when every check passed.
"""

import argparse
import importlib.util
import os
import re
import sys

_spec = importlib.util.spec_from_file_location(
    "check_guest", os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-guest.py"))
cg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cg)
num, json_of, records_with, sources, by_fid = cg.num, cg.json_of, cg.records_with, cg.sources, cg.by_fid

OWN, HELD, KDRV, PROBE = 0x31, 0x32, 0x33, 0x34
DRIVERS = {OWN: "vfio-pci", HELD: "vfio-pci", KDRV: "e1000e", PROBE: "vfio-pci"}
PEC = 0x2                 # out-of-range address, what QEMU raises for the RPCIT
OWN_ROUNDS = 2
HELD_ROUNDS = 6
DEPTH = 4
HELD_READ = 2             # records the holder of 0x32 reads before closing
VENDOR_LE = "8680"        # 0x8086 (Intel) as the two config-space bytes
FH_MASK = 0x7FFFFFFF      # the enable bit of a function handle aside
CHANNEL_NORMAL = 1        # pci_channel_io_normal in include/linux/pci.h


def rpcit_rounds(text):
    """[(fid, fh_before, raised, addr)] in the order the guest ran them."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^=== ZT FACT rpcit fid=(\S+) fh=(\S+) addr=(\S+)$", line)
        if m:
            out.append([num(m.group(1)), num(m.group(2)), None, num(m.group(3))])
            continue
        m = re.match(r"^=== ZT FACT rpcit_raised fid=(\S+) n=(\d+)$", line)
        if m and out and out[-1][0] == num(m.group(1)):
            out[-1][2] = int(m.group(2))
    return [tuple(r) for r in out]


def holder_records(log):
    recs = []
    for m in re.finditer(r"^record fh=(\S+) fid=(\S+) pec=(\S+) faddr=(\S+)$", log or "", re.M):
        recs.append({"fh": num(m.group(1)), "fid": num(m.group(2)), "pec": num(m.group(3)),
                     "faddr": num(m.group(4))})
    return recs


def holder_gets(log):
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^get end n=(\d+) errno=(\S+)$", log or "", re.M)]


def holder_signals(log):
    return [int(m.group(1)) for m in re.finditer(r"^signals (\d+)$", log or "", re.M)]


def fact_of(text, key):
    """The rest of the line of a fact "KEY VALUE..." (no '=' after KEY)."""
    m = re.search(r"^=== ZT FACT %s (.*)$" % re.escape(key), text, re.M)
    return m.group(1).strip() if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--kernel-release", required=True)
    ap.add_argument("--check-config")
    a = ap.parse_args()
    R = cg.Results()
    if not os.path.exists(a.console):
        print("FAIL boot: no console log")
        return 1
    text, facts, _multi, blocks, rcs = cg.parse_console(a.console)

    # ---- the environment --------------------------------------------------------
    kernel = facts.get("kernel")
    if not R.check("boot", "=== ZT DONE" in text and kernel == a.kernel_release,
                   "the patched kernel %s booted and ran /init to the end (%s s)" % (kernel, facts.get("init_end")),
                   "guest did not run /init to the end (kernel %s, want %s); console tail: %s" % (
                       kernel, a.kernel_release, text[-600:])):
        cg.emit(R)
        return 1
    boot = cg.sysfs_functions(blocks.get("functions-boot"))
    wrong = ["0x%x:%s (want %s)" % (f, boot.get(f, {}).get("driver"), d)
             for f, d in DRIVERS.items() if boot.get(f, {}).get("driver") != d]
    R.check("scene", not wrong, "four e1000e zPCI functions, bound as planned",
            "functions missing or wrongly bound: %s" % wrong)
    dmesg = blocks.get("dmesg", "")
    slots = dict((num(k), v) for k, v in re.findall(r"(\S+)=(\S+)", fact_of(text, "slots") or ""))
    if set(slots) != set(DRIVERS):
        R.fail("scene", "the guest found slots %s for the functions %s" % (slots, ["0x%x" % f for f in DRIVERS]))
    cc = open(a.check_config).read() if a.check_config and os.path.exists(a.check_config) else ""
    R.check("test-policy-valid", cc.rstrip().endswith("rc=0"),
            "conf/zpcid.json plus tests/s390x/kernel-guest-etc accepted by zpcid --check-config",
            "zpcid --check-config rejected the configuration: %s" % cc.strip()[-400:])
    zlog = blocks.get("zpcid-log", "")
    R.check("zpcid-runs",
            facts.get("zpcid_running_after_start") == "1" and facts.get("zpcid_running_at_end") == "1"
            and facts.get("zpcid_exit") == "0" and facts.get("zpcid_bus_name_owned") == "1",
            "zpcid owned org.zpcid1, ran through the scenario and exited 0 on SIGTERM",
            "zpcid: bus name %s, running after start %s, at end %s, exit %s; log tail: %s" % (
                facts.get("zpcid_bus_name_owned"), facts.get("zpcid_running_after_start"),
                facts.get("zpcid_running_at_end"), facts.get("zpcid_exit"), zlog[-600:]))

    evdoc = json_of(blocks.get("events"))
    events = records_with(evdoc, "kind") if evdoc is not None and rcs.get("events") == 0 else None
    rounds = rpcit_rounds(text)

    def errs(fid):
        return [e for e in sorted(events or [], key=cg.event_order)
                if e.get("kind") == "error" and num(e.get("fid")) == fid]

    # ---- own mode: drained CCDFs ------------------------------------------------
    own = [r for r in rounds if r[0] == OWN]
    probs = []
    if len(own) != OWN_ROUNDS or any(r[2] != 1 for r in own):
        probs.append("QEMU raised %s error(s) for the %d RPCITs on 0x%x" % (
            [r[2] for r in own], OWN_ROUNDS, OWN))
    if facts.get("zpcid_holds_0x31") != "1":
        probs.append("zpcid never said it holds the vfio device of 0x%x: %s" % (
            OWN, [l for l in zlog.splitlines() if "0x00000031" in l][:3]))
    form = re.search(r"0x00000031: holding its vfio device \([^)]*error records in the (v\d+) form", zlog)
    if form and form.group(1) != "v20":
        probs.append("zpcid reads error records of 0x%x in the %s form (want v20: the capability announces version 3)" % (
            OWN, form.group(1)))
    for l in zlog.splitlines():
        if "0x00000031" in l and re.search(r"failed to read its error queue", l):
            probs.append("zpcid: %s" % l.strip()[:200])
            break
    if events is None:
        probs.append("no usable zpcictl events output: rc %s %s" % (rcs.get("events"), blocks.get("events", "")[:300]))
    else:
        drained = [e for e in errs(OWN) if "vfio" in sources(e)]
        want = [(PEC, r[3], r[1]) for r in own]
        got = [(num(e.get("pec")), num(e.get("faddr")), num(e.get("fh"))) for e in drained]
        ok = len(got) == len(want) and all(
            p == wp and fa == wa and fh is not None and wf is not None and fh & FH_MASK == wf & FH_MASK
            for (p, fa, fh), (wp, wa, wf) in zip(got, want))
        if not ok:
            def hx(t):
                return tuple("0x%x" % x if x is not None else None for x in t)
            probs.append("drained (pec, faddr, fh) %s, want %s" % ([hx(g) for g in got], [hx(w) for w in want]))
    R.check("own-drain", not probs,
            "fid 0x%x: each of the %d real errors drained from the kernel's queue once, source vfio, full CCDF (PEC 0x%x, faddr of the RPCIT, the function's handle)" % (
                OWN, OWN_ROUNDS, PEC),
            "; ".join(probs))

    # ---- own mode: zpcid's reset ends mediated recovery -------------------------
    probs = []
    s31 = slots.get(OWN, "?")
    leave = "%s: Leaving recovery of pass-through device to user-space" % s31
    if leave not in dmesg:
        probs.append("no kernel log line '%s'" % leave)
    if facts.get("own_reset_1") != "1" or facts.get("own_reset_2") != "1":
        probs.append("zpcid's reset of 0x%x not done after each error (%s, %s)" % (
            OWN, facts.get("own_reset_1"), facts.get("own_reset_2")))
    if events is not None:
        resets = [e for e in events if e.get("kind") == "action" and num(e.get("fid")) == OWN
                  and e.get("action") == "reset"]
        done = [e for e in resets if e.get("result") == "done" and "VFIO_DEVICE_RESET" in str(e.get("detail"))]
        if len(done) < OWN_ROUNDS:
            probs.append("%d reset(s) done through VFIO_DEVICE_RESET (want %d): %s" % (
                len(done), OWN_ROUNDS, [(e.get("result"), e.get("detail")) for e in resets]))
    vendor = facts.get("own_vendor_after_reset")
    if vendor != VENDOR_LE:
        probs.append("config space after the reset reads vendor bytes %r (want %s)" % (vendor, VENDOR_LE))
    if len(own) == OWN_ROUNDS and own[1][2] != 1:
        probs.append("the platform raised no error for the RPCIT after the reset: the function is not usable")
    R.check("mediated-recovery", not probs,
            "the kernel left recovery of 0x%x to user space ('%s'); zpcid's VFIO_DEVICE_RESET ended it: config space readable, the next RPCIT raised and drained" % (
                OWN, leave),
            "; ".join(probs))

    # ---- after zpcid: the owned function back on its kernel driver --------------
    # zpcid reset 0x31 after each error and released it at exit; e1000e,
    # bound then, must find the function in the normal channel state.  A
    # driver that sees it offline skips its hardware counters: the frames
    # zpci_xmit queued never show in tx_packets.
    probs = []
    n31 = facts.get("own_kdrv_netdev") or ""
    if rcs.get("rebind-0x31") != 0 or not n31:
        probs.append("binding 0x%x to e1000e after zpcid's exit: rc %s, network device %r: %s" % (
            OWN, rcs.get("rebind-0x31"), n31, blocks.get("rebind-0x31", "")[:200]))
    else:
        if facts.get("own_kdrv_carrier") != "1":
            up = re.search(r"^=== ZT FACT own_kdrv_xmit \S+: %s up rc=(-?\d+)$" % re.escape(n31), text, re.M)
            probs.append("no carrier on %s within 60 s (brought up: rc %s)" % (n31, up.group(1) if up else None))
        # the last report: the state when the frames were sent
        st = (re.findall(r"^=== ZT FACT own_kdrv_xmit (\S+) fid 0x31: channel offline=(\d+) error_state=(\d+)$", text, re.M)
              or [None])[-1]
        if not st:
            probs.append("zpci_xmit did not report the channel state of 0x%x" % OWN)
        elif st[0] != s31 or st[1] != "0":
            probs.append("the PCI core keeps %s offline (error_state %s, want %d: pci_channel_io_normal)" % (
                st[0], st[2], CHANNEL_NORMAL))
        q = re.search(r"^=== ZT FACT own_kdrv_xmit \S+: %s queued (\d+) of (\d+) frames$" % re.escape(n31), text, re.M)
        if not q or q.group(1) != q.group(2) or q.group(1) == "0":
            probs.append("zpci_xmit queued %s frame(s) on %s" % (
                "%s of %s" % (q.group(1), q.group(2)) if q else "no", n31))
        tx = num(facts.get("own_kdrv_tx_packets"))
        if not tx:
            probs.append("tx_packets of %s is %r after the frames were sent: the driver does not read the counters of a function it considers offline" % (
                n31, facts.get("own_kdrv_tx_packets")))
    bad = [l.strip() for l in dmesg.splitlines() if s31 in l and re.search(
        r"e1000e.*(fail|offline|error)|Cannot be recovered", l, re.I)]
    if bad:
        probs.append("kernel log: %s" % bad[:3])
    R.check("released-to-kernel-driver", not probs,
            "after zpcid's resets and its release, 0x%x bound to e1000e: probed, %s has carrier (operstate %s), channel normal, %s frames counted in tx_packets" % (
                OWN, n31, facts.get("own_kdrv_operstate"), facts.get("own_kdrv_tx_packets")),
            "; ".join(probs))

    # ---- QEMU and the error state --------------------------------------------------
    probe = [r for r in rounds if r[0] == PROBE]
    second = facts.get("error_state_second_events")
    h34 = blocks.get("holder-0x34", "")
    recs34 = holder_records(h34)
    marker = [r for r in rounds if r[0] == KDRV]
    if len(probe) != 1 or probe[0][2] != 1 or not marker or marker[0][2] != 1 or second is None:
        R.fail("qemu-error-state", "the probe did not run: first RPCIT on 0x%x raised %s, marker on 0x%x raised %s, second events %s" % (
            PROBE, [r[2] for r in probe], KDRV, [r[2] for r in marker], second))
    else:
        n = 1 + int(second)
        answer = fact_of(text, "error_state_rpcit_answer")
        R.check("qemu-error-state", len(recs34) == n and all(r["pec"] == PEC for r in recs34),
                "a second RPCIT on 0x%x while it is in the error state (RPCIT answer: %s) raised %s further error event(s); the holder read all %d record(s) after its reset" % (
                    PROBE, answer, second, n),
                "the kernel logged %d event(s) for 0x%x but the holder read %d record(s): %s" % (n, PROBE, len(recs34), h34[-300:]))

    # ---- real errors fill the queue; drop-newest; the discard at the last close ---
    h32 = blocks.get("holder-0x32", "")
    held = [r for r in rounds if r[0] == HELD]
    s32 = slots.get(HELD, "?")
    probs = []
    if not re.search(r"^=== ZT FACT holder h32 fid=0x32 ready=1$", text, re.M):
        probs.append("the holder of 0x%x did not open it" % HELD)
    if len(held) != HELD_ROUNDS or any(r[2] != 1 for r in held):
        probs.append("QEMU raised %s error(s) for the %d RPCITs on 0x%x (each after a reset)" % (
            [r[2] for r in held], HELD_ROUNDS, HELD))
    resets = re.findall(r"^reset rc=(-?\d+)$", h32, re.M)
    if resets != ["0"] * HELD_ROUNDS:
        probs.append("the holder's VFIO_DEVICE_RESETs returned %s" % resets)
    full = "%s: Maximum number (%d) of pending error events queued" % (s32, DEPTH)
    if full not in dmesg:
        probs.append("no kernel log line '%s'" % full)
    recs = holder_records(h32)
    gets = holder_gets(h32)
    want = held[:HELD_READ]
    if gets != [(HELD_READ, "0")] or len(recs) != HELD_READ or any(
            r["pec"] != PEC or r["faddr"] != w[3] or r["fid"] != HELD or w[1] is None or r["fh"] & FH_MASK != w[1] & FH_MASK
            for r, w in zip(recs, want)):
        probs.append("the holder read %s (%s), want the records of the first %d errors (faddr %s) in order" % (
            recs, gets, HELD_READ, ["0x%x" % w[3] for w in want if w[3] is not None]))
    R.check("queue-full", not probs,
            "%d real errors on 0x%x with a reset after each: the kernel kept the oldest %d and dropped the newest ('%s'), read back in order by their faddr" % (
                HELD_ROUNDS, HELD, DEPTH, full),
            "; ".join(probs))
    left = DEPTH - HELD_READ
    disc = re.search(r"Unhandled PCI error events count=(\d+) for PCI function 0x%x\b" % HELD, dmesg)
    R.check("discard-at-close", facts.get("discard_logged") == "1" and disc is not None and int(disc.group(1)) == left,
            "the last close of 0x%x discarded the %d unread records ('%s')" % (HELD, left, disc.group(0) if disc else ""),
            "want 'Unhandled PCI error events count=%d for PCI function 0x%x' at the holder's close, have %s" % (
                left, HELD, disc.group(0) if disc else "none"))
    sig = holder_signals(h32)
    R.check("err-eventfd", "err-irq registered" in h32 and sig and sig[0] >= 1,
            "the holder's eventfd on VFIO_PCI_ERR_IRQ_INDEX was signalled for the errors of 0x%x (counter %s)" % (HELD, sig),
            "holder of 0x%x: error interrupt %s, eventfd counter %s (want >= 1)" % (
                HELD, (re.search(r"^err-irq (.*)$", h32, re.M) or [None, "?"])[1], sig))

    # ---- a function left to its kernel driver: nothing queued ---------------------
    s33 = slots.get(KDRV, "?")
    h33 = blocks.get("holder-0x33", "")
    probs = []
    if not marker or marker[0][2] != 1:
        probs.append("QEMU raised no error for the RPCIT on 0x%x" % KDRV)
    if facts.get("kernel_recovery_done") != "1":
        probs.append("the kernel's recovery of 0x%x through e1000e did not end" % KDRV)
    for bad in ("%s: Leaving recovery" % s33, "%s: Maximum number" % s33):
        if bad in dmesg:
            probs.append("kernel log has '%s'" % bad)
    if re.search(r"Unhandled PCI error events count=\d+ for PCI function 0x%x\b" % KDRV, dmesg):
        probs.append("the kernel discarded queued records of 0x%x" % KDRV)
    if holder_gets(h33) != [(0, "ENOMSG")]:
        probs.append("opened through vfio-pci afterwards, the first GET gave %s (want no record, ENOMSG): %s" % (
            holder_gets(h33), h33[-300:]))
    if events is not None:
        e33 = errs(KDRV)
        if not e33 or any("vfio" in sources(e) or "delegated" in sources(e) for e in e33) or not all(
                "kmsg" in sources(e) for e in e33):
            probs.append("zpcid's records of 0x%x: %s (want errors from the kernel log only)" % (
                KDRV, [(e.get("pec"), e.get("source")) for e in e33]))
    R.check("kernel-driver", not probs,
            "0x%x on e1000e: the kernel recovered it itself, queued nothing (GET after rebinding to vfio-pci: ENOMSG); zpcid saw the error in the kernel log" % KDRV,
            "; ".join(probs))

    # ---- observe mode next to another holder ---------------------------------------
    probs = []
    mine = [l.strip() for l in zlog.splitlines() if "0x00000032" in l and re.search(
        r"holding its|watching its|held by another process|failed to open|vfio device", l)]
    if mine:
        probs.append("zpcid touched the vfio device of 0x%x: %s" % (HELD, mine[:2]))
    lst = by_fid(records_with(json_of(blocks.get("list-start")), "fid"))
    if lst.get(HELD, {}).get("mode") != "observe":
        probs.append("zpcictl list shows 0x%x in mode %r (want observe)" % (HELD, lst.get(HELD, {}).get("mode")))
    if events is not None:
        e32 = errs(HELD)
        if not e32 or any("vfio" in sources(e) or "delegated" in sources(e) for e in e32):
            probs.append("zpcid's records of 0x%x: %s (want errors from the kernel log, none drained)" % (
                HELD, [(e.get("pec"), e.get("source")) for e in e32]))
    R.check("observe-holder", not probs,
            "0x%x held by another process: zpcid never opened it, lists it as observed and reported its errors from the kernel log" % HELD,
            "; ".join(probs))
    cg.emit(R)
    if any(v == "FAIL" for v, _, _ in R.lines):
        return 1
    if any(v == "SKIP" for v, _, _ in R.lines):
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
