#!/usr/bin/env python3
"""Fill fuzz/corpus/ from the shared capture files.

scap_reader: each trace as stored (mostly gzip), decompressed, and its
first 4 KiB and 16 KiB (decompressed). event_view: every distinct event
(current layout) of the version-2 traces.
"""
import gzip, hashlib, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
traces = [os.path.join(shared, "traces", f) for f in sorted(os.listdir(os.path.join(shared, "traces")))]
regr = os.path.join(shared, "falco-regression", "trace_files")
traces += [os.path.join(regr, f) for f in sorted(os.listdir(regr)) if f.endswith(".scap")]

def put(target, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

n_events = 0
for t in traces:
    raw = open(t, "rb").read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    for seed in (raw, data, data[:4096], data[:16384]):
        put("scap_reader", seed)
    off = 0
    while off + 8 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if btype in (0x216, 0x217, 0x221, 0x222) and n_events < 3000:
            body = data[off + 8 : off + blen - 4]
            ev = body[2:] if btype in (0x216, 0x221) else body[6:]
            (elen,) = struct.unpack_from("<I", ev, 16)
            put("event_view", ev[:elen])
            n_events += 1
        off += blen
print(f"seeded {len(traces)} traces, {n_events} events", file=sys.stderr)
