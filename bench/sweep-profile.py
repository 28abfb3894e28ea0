#!/usr/bin/env python3
"""Where a sweep's wall time goes on S3: reads what bench/s3-vs-rclone.sh profile left in its work folder for one
latency (the proxy's request log and the -v log of `reclaim plan` and of `reclaim apply`, with their times) and prints
the breakdown as markdown rows.

  bench/sweep-profile.py WORKDIR LATENCY_MS

WORKDIR holds plan.requests / apply.requests (bench/latency-proxy.js --log lines: arrival ms, end ms, connection,
operation, status, prefix, start-after), plan.time / apply.time (`wall user sys s3rver-cpu`) and apply.err (the
apply's stderr at -v, with the gate's gate_sub_batch_timing events)."""
import re, sys
from collections import defaultdict

work, latency = sys.argv[1], sys.argv[2]

def requests(name):
    rows = []
    for line in open(f"{work}/{name}.requests"):
        f = line.rstrip("\n").split("\t")
        rows.append({"start": float(f[0]) / 1000, "end": float(f[1]) / 1000, "conn": int(f[2]), "op": f[3], "startAfter": f[6] if len(f) > 6 else ""})
    return rows

def busy(rows):
    """Seconds with at least one of these requests in flight (the union of their intervals)."""
    total, cur_s, cur_e = 0.0, None, None
    for r in sorted(rows, key=lambda r: r["start"]):
        if cur_e is None or r["start"] > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = r["start"], r["end"]
        else:
            cur_e = max(cur_e, r["end"])
    return total + (cur_e - cur_s if cur_e is not None else 0)

def peak(rows):
    events = sorted([(r["start"], 1) for r in rows] + [(r["end"], -1) for r in rows])
    n = m = 0
    for _, d in events:
        n += d
        m = max(m, n)
    return m

def times(name):
    wall, user, sys_, s3cpu = (float(x) for x in open(f"{work}/{name}.time").read().split())
    return wall, user + sys_, s3cpu

def describe(label, rows):
    if not rows:
        return f"| {label} | 0 | | | | | |"
    d = [r["end"] - r["start"] for r in rows]
    return (f"| {label} | {len(rows)} | {len({r['conn'] for r in rows})} | {peak(rows)} | {sum(d):.1f} | {busy(rows):.1f} | "
            f"{sum(d) / len(d) * 1000:.0f} |")

out = []
pw, pcpu, ps3 = times("plan")
aw, acpu, as3 = times("apply")
plan_rows, apply_rows = requests("plan"), requests("apply")
out.append(f"**{latency} ms**: plan {pw:.1f} s wall (reclaim CPU {pcpu:.1f} s, s3rver CPU {ps3:.1f} s); apply {aw:.1f} s wall (reclaim CPU {acpu:.1f} s, s3rver CPU {as3:.1f} s).")
out.append("")
out.append("| requests | count | connections | most in flight | summed s | wall s with one in flight | mean ms |")
out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
out.append(describe("plan: ListObjectsV2 (all)", plan_rows))
rechecks = [r for r in apply_rows if r["op"].startswith("ListObjectsV2")]
deletes = [r for r in apply_rows if r["op"] == "DeleteObjects"]
other = [r for r in apply_rows if r not in rechecks and r not in deletes]
out.append(describe("apply: re-check ListObjectsV2", rechecks))
out.append(describe("apply: DeleteObjects", deletes))
if other:
    out.append(describe("apply: other (" + ", ".join(sorted({r['op'] for r in other})) + ")", other))
if apply_rows:
    first, last = min(r["start"] for r in apply_rows), max(r["end"] for r in apply_rows)
    out.append("")
    out.append(f"The apply's store requests span {last - first:.1f} s of its {aw:.1f} s; within that span no request was in flight for {last - first - busy(apply_rows):.1f} s.")

# The gate's own timing of each sub-batch (summed over sub-batches; several are in flight at once, so the sums overlap).
phases = defaultdict(float)
batches = 0
pattern = re.compile(r"store re-read ([\d.]+) ms, intent recorded ([\d.]+) ms, protection check ([\d.]+) ms, store requests ([\d.-]+) ms, outcomes recorded ([\d.]+) ms")
for line in open(f"{work}/apply.err", errors="replace"):
    m = pattern.search(line)
    if m:
        batches += 1
        for name, value in zip(["store re-read (re-check listings)", "intent recorded (state)", "protection check (catalog)", "store requests (DeleteObjects)", "outcomes recorded (state)"], m.groups()):
            phases[name] += float(value) / 1000
if batches:
    out.append("")
    out.append(f"The gate's {batches} sub-batches, by its own timing (gate_sub_batch_timing at -v), summed (sub-batches in flight at once overlap):")
    out.append("")
    out.append("| phase | summed s | per sub-batch ms |")
    out.append("| --- | ---: | ---: |")
    for name, value in phases.items():
        out.append(f"| {name} | {value:.2f} | {value / batches * 1000:.0f} |")
print("\n".join(out))
