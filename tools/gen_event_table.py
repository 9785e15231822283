#!/usr/bin/env python3
"""Generate peregrine-event's event table from the Falco driver schema.

The scap format is defined by the driver's schema files (event_table.c,
flags_table.c, dynamic_params_table.c, ppm_events_public.h, SCHEMA_VERSION).
This script reads those files and writes `crates/peregrine-event/src/generated.rs`,
a plain Rust data table. Re-run it when the schema changes:

    tools/gen_event_table.py PATH/TO/libs/driver > crates/peregrine-event/src/generated.rs
"""
import re
import sys
from pathlib import Path


def strip_comments(text):
    text = text.replace("\\\n", " ")
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_eval(expr, names):
    expr = " ".join(expr.split())
    expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
    expr = re.sub(r"\b0([0-7]+)\b", r"0o\1", expr)
    expr = re.sub(r"\(\s*(?:uint32_t|int32_t|unsigned|int|uint64_t)\s*\)", "", expr)

    def sub(m):
        word = m.group(0)
        if word in names:
            return "(" + str(names[word]) + ")"
        return word

    expr = re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", sub, expr)
    expr = expr.replace("~", "~")
    return int(eval(expr, {"__builtins__": {}}))  # noqa: S307 (trusted schema input)


def parse_header(text):
    names = {}
    text = strip_comments(text)
    for m in re.finditer(r"^\s*#define\s+(PPM_[A-Za-z0-9_]+|SCHEMA_[A-Z_]+)\s+(.+)$", text, re.M):
        try:
            names[m.group(1)] = c_eval(m.group(2), names)
        except Exception:
            pass  # ioctl numbers and macros that are not plain constants
    for em in re.finditer(r"enum\s*(\w*)\s*\{(.*?)\}", text, re.S):
        value = -1
        for item in em.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                key, expr = item.split("=", 1)
                key = key.strip()
                try:
                    value = c_eval(expr, names)
                except Exception:
                    continue  # macro-built enums (syscall code lists) are not needed
            else:
                key = item
                value += 1
            names[key] = value
    return names


def split_top(s, sep=","):
    out, depth, cur, in_str = [], 0, "", False
    for ch in s:
        if ch == '"':
            in_str = not in_str
        if not in_str:
            if ch in "{(":
                depth += 1
            elif ch in "})":
                depth -= 1
            elif ch == sep and depth == 0:
                out.append(cur.strip())
                cur = ""
                continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_flag_tables(text, names):
    tables = {}
    text = strip_comments(text)
    for m in re.finditer(r"const\s+struct\s+ppm_name_value\s+(\w+)\[\]\s*=\s*\{(.*?)\};", text, re.S):
        entries = []
        for e in re.finditer(r"\{\s*\"([^\"]*)\"\s*,\s*([^}]*)\}", m.group(2)):
            entries.append((e.group(1), c_eval(e.group(2), names) & 0xFFFFFFFF))
        tables[m.group(1)] = entries
    return tables


def parse_dynamic_tables(text, names):
    tables = {}
    text = strip_comments(text)
    for m in re.finditer(r"const\s+struct\s+ppm_param_info\s+(\w+)\[[^\]]*\]\s*=\s*\{(.*?)\};", text, re.S):
        entries = {}
        for e in re.finditer(r"\[(\w+)\]\s*=\s*\{\{0\}\s*,\s*(PT_\w+)\s*,\s*(PF_\w+)", m.group(2)):
            entries[names[e.group(1)]] = (e.group(2), e.group(3))
        size = max(entries) + 1 if entries else 0
        tables[m.group(1)] = [entries.get(i, ("PT_NONE", "PF_NA")) for i in range(size)]
    return tables


PT = {
    "PT_NONE": "None", "PT_INT8": "Int8", "PT_INT16": "Int16", "PT_INT32": "Int32",
    "PT_INT64": "Int64", "PT_UINT8": "Uint8", "PT_UINT16": "Uint16", "PT_UINT32": "Uint32",
    "PT_UINT64": "Uint64", "PT_CHARBUF": "Charbuf", "PT_BYTEBUF": "Bytebuf", "PT_ERRNO": "Errno",
    "PT_SOCKADDR": "Sockaddr", "PT_SOCKTUPLE": "Socktuple", "PT_FD": "Fd", "PT_PID": "Pid",
    "PT_FDLIST": "Fdlist", "PT_FSPATH": "Fspath", "PT_SYSCALLID": "SyscallId",
    "PT_SIGTYPE": "Sigtype", "PT_RELTIME": "Reltime", "PT_ABSTIME": "Abstime", "PT_PORT": "Port",
    "PT_L4PROTO": "L4proto", "PT_SOCKFAMILY": "Sockfamily", "PT_BOOL": "Bool",
    "PT_IPV4ADDR": "Ipv4addr", "PT_DYN": "Dyn", "PT_FLAGS8": "Flags8", "PT_FLAGS16": "Flags16",
    "PT_FLAGS32": "Flags32", "PT_UID": "Uid", "PT_GID": "Gid", "PT_DOUBLE": "Double",
    "PT_SIGSET": "Sigset", "PT_CHARBUFARRAY": "CharbufArray",
    "PT_CHARBUF_PAIR_ARRAY": "CharbufPairArray", "PT_IPV4NET": "Ipv4net",
    "PT_IPV6ADDR": "Ipv6addr", "PT_IPV6NET": "Ipv6net", "PT_IPADDR": "Ipaddr", "PT_IPNET": "Ipnet",
    "PT_MODE": "Mode", "PT_FSRELPATH": "Fsrelpath", "PT_ENUMFLAGS8": "Enumflags8",
    "PT_ENUMFLAGS16": "Enumflags16", "PT_ENUMFLAGS32": "Enumflags32", "PT_FD32": "Fd32",
    "PT_PID32": "Pid32",
}
PF = {"PF_NA": "Na", "PF_DEC": "Dec", "PF_HEX": "Hex", "PF_10_PADDED_DEC": "PaddedDec10",
      "PF_ID": "Id", "PF_DIR": "Dir", "PF_OCT": "Oct"}


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    driver = Path(sys.argv[1])
    header_text = (driver / "ppm_events_public.h").read_text()
    names = parse_header(header_text)
    flags = parse_flag_tables((driver / "flags_table.c").read_text(), names)
    dyn = parse_dynamic_tables((driver / "dynamic_params_table.c").read_text(), names)
    schema = (driver / "SCHEMA_VERSION").read_text().strip()
    body = strip_comments((driver / "event_table.c").read_text())
    body = body[body.index("g_event_info[]"):]
    body = body[body.index("{") + 1:]
    events = {}
    for m in re.finditer(r"\[(PPME_\w+)\]\s*=\s*\{", body):
        start = m.end()
        depth, i = 1, start
        while depth:
            if body[i] == "{":
                depth += 1
            elif body[i] == "}":
                depth -= 1
            i += 1
        parts = split_top(body[start:i - 1])
        name = parts[0].strip().strip('"')
        category = c_eval(parts[1], names)
        eflags = c_eval(parts[2], names)
        nparams = c_eval(parts[3], names)
        params = []
        if nparams:
            plist = parts[4].strip()[1:-1]
            for p in split_top(plist):
                fields = split_top(p.strip()[1:-1])
                pname = fields[0].strip('"')
                ptype, pfmt = fields[1], fields[2]
                extra = "ParamExtra::None"
                if len(fields) > 3:
                    info = fields[3]
                    dm = re.match(r"DIRFD_PARAM\((\d+)\)", info)
                    if dm:
                        extra = f"ParamExtra::DirFd({dm.group(1)})"
                    elif info in flags:
                        extra = f"ParamExtra::Flags(flags::{info.upper()})"
                    elif info in dyn:
                        extra = f"ParamExtra::Dynamic(dynamic::{info.upper()})"
                    else:
                        raise SystemExit(f"unknown param info {info} in {m.group(1)}")
                params.append((pname, PT[ptype], PF[pfmt], extra))
            assert len(params) == nparams, m.group(1)
        events[names[m.group(1)]] = (m.group(1), name, category, eflags, params)
    count = names["PPM_EVENT_MAX"]
    out = []
    w = out.append
    w("// @generated by tools/gen_event_table.py from the Falco driver schema. Do not edit.")
    w("#![allow(missing_docs)]")
    w("use crate::table::{Category, EventFlags, EventInfo, ParamExtra, ParamInfo, ParamType, PrintFormat};")
    w("")
    w(f"/// Version of the driver event schema this table was generated from.")
    w(f"pub const SCHEMA_VERSION: &str = {rust_str(schema)};")
    w(f"/// Number of event codes in the table.")
    w(f"pub const EVENT_COUNT: usize = {count};")
    w("")
    w("/// Event codes (`PPME_*`), without the `PPME_` prefix.")
    w("pub mod code {")
    for num in sorted(events):
        w(f"    pub const {events[num][0][5:]}: u16 = {num};")
    w("}")
    w("")
    w("/// Flag and enum name tables used to render flag parameters.")
    w("pub mod flags {")
    for tname, entries in flags.items():
        items = ", ".join(f"({rust_str(n)}, {v:#x})" for n, v in entries)
        w(f"    pub static {tname.upper()}: &[(&str, u32)] = &[{items}];")
    w("}")
    w("")
    w("/// Parameter layouts of `PT_DYN` parameters, indexed by their leading index byte.")
    w("pub mod dynamic {")
    w("    use super::*;")
    for tname, entries in dyn.items():
        items = ", ".join(f"(ParamType::{PT[t]}, PrintFormat::{PF[f]})" for t, f in entries)
        w(f"    pub static {tname.upper()}: &[(ParamType, PrintFormat)] = &[{items}];")
    w("}")
    w("")
    w("/// The event table, indexed by event code.")
    w(f"pub static EVENTS: [EventInfo; {count}] = [")
    for num in range(count):
        if num not in events:
            w('    EventInfo { name: "NA", category: Category(0), flags: EventFlags(0), params: &[] },')
            continue
        _, name, cat, ef, params = events[num]
        ps = ", ".join(
            f"ParamInfo {{ name: {rust_str(n)}, ptype: ParamType::{t}, fmt: PrintFormat::{f}, extra: {x} }}"
            for n, t, f, x in params)
        w(f"    EventInfo {{ name: {rust_str(name)}, category: Category({cat:#x}), flags: EventFlags({ef:#x}), params: &[{ps}] }},")
    w("];")
    print("\n".join(out))


if __name__ == "__main__":
    main()
