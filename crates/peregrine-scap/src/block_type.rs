//! Block type codes (`block_type` field of every block), and their names.
//!
//! The `*_INT` codes are the numbers used before libscap's first release;
//! readers still accept them.

/// Section header block.
pub const SECTION_HEADER: u32 = 0x0A0D0D0A;
/// Byte-order magic in the section header, as read on a little-endian file.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B3C4D;
/// Byte-order magic of a big-endian file, read as little-endian.
pub const BYTE_ORDER_MAGIC_SWAPPED: u32 = 0x4D3C2B1A;

/// Machine info.
pub const MACHINE_INFO: u32 = 0x201;
/// Machine info, pre-release code.
pub const MACHINE_INFO_INT: u32 = 0x8002ABCD;

/// Process list, version 1.
pub const PROC_LIST_V1: u32 = 0x202;
/// Process list, version 1, pre-release code.
pub const PROC_LIST_V1_INT: u32 = 0x8000ABCD;
/// Process list, version 2 (memory counters).
pub const PROC_LIST_V2: u32 = 0x207;
/// Process list, version 2, pre-release code.
pub const PROC_LIST_V2_INT: u32 = 0x8013ABCD;
/// Process list, version 3 (environment).
pub const PROC_LIST_V3: u32 = 0x209;
/// Process list, version 3, pre-release code.
pub const PROC_LIST_V3_INT: u32 = 0x8014ABCD;
/// Process list, version 4 (vtid, vpid, cgroups).
pub const PROC_LIST_V4: u32 = 0x210;
/// Process list, version 5 (root).
pub const PROC_LIST_V5: u32 = 0x211;
/// Process list, version 6 (sid).
pub const PROC_LIST_V6: u32 = 0x212;
/// Process list, version 7 (exepath).
pub const PROC_LIST_V7: u32 = 0x213;
/// Process list, version 8 (vpgid).
pub const PROC_LIST_V8: u32 = 0x214;
/// Process list, version 9 (per-entry length, appendable fields).
pub const PROC_LIST_V9: u32 = 0x215;

/// Fd list.
pub const FD_LIST: u32 = 0x203;
/// Fd list, pre-release code.
pub const FD_LIST_INT: u32 = 0x8001ABCD;
/// Fd list, version 2 (per-entry length).
pub const FD_LIST_V2: u32 = 0x218;

/// Event (header without `nparams`).
pub const EVENT: u32 = 0x204;
/// Event, pre-release code.
pub const EVENT_INT: u32 = 0x8010ABCD;
/// Event, version 2.
pub const EVENT_V2: u32 = 0x216;
/// Event, version 2, for events with 32-bit parameter lengths.
pub const EVENT_V2_LARGE: u32 = 0x221;
/// Event with flags (header without `nparams`).
pub const EVENT_FLAGS: u32 = 0x208;
/// Event with flags, version 2.
pub const EVENT_FLAGS_V2: u32 = 0x217;
/// Event with flags, version 2, large payload.
pub const EVENT_FLAGS_V2_LARGE: u32 = 0x222;

/// Interface list.
pub const IF_LIST: u32 = 0x205;
/// Interface list, pre-release code.
pub const IF_LIST_INT: u32 = 0x8011ABCD;
/// Interface list, version 2 (per-entry length).
pub const IF_LIST_V2: u32 = 0x219;

/// User list.
pub const USER_LIST: u32 = 0x206;
/// User list, pre-release code.
pub const USER_LIST_INT: u32 = 0x8012ABCD;
/// User list, version 2 (per-entry length).
pub const USER_LIST_V2: u32 = 0x220;

/// Version (1 to 9) of a process list block type, `None` for other types.
pub fn proc_list_version(t: u32) -> Option<u8> {
    Some(match t {
        PROC_LIST_V1 | PROC_LIST_V1_INT => 1,
        PROC_LIST_V2 | PROC_LIST_V2_INT => 2,
        PROC_LIST_V3 | PROC_LIST_V3_INT => 3,
        PROC_LIST_V4 => 4,
        PROC_LIST_V5 => 5,
        PROC_LIST_V6 => 6,
        PROC_LIST_V7 => 7,
        PROC_LIST_V8 => 8,
        PROC_LIST_V9 => 9,
        _ => return None,
    })
}

/// Whether `t` is an event block type (any version).
pub fn is_event(t: u32) -> bool {
    matches!(
        t,
        EVENT
            | EVENT_INT
            | EVENT_V2
            | EVENT_V2_LARGE
            | EVENT_FLAGS
            | EVENT_FLAGS_V2
            | EVENT_FLAGS_V2_LARGE
    )
}

/// A human-readable name for a block type, as used in error messages.
pub fn name(t: u32) -> &'static str {
    match t {
        SECTION_HEADER => "section header block",
        MACHINE_INFO | MACHINE_INFO_INT => "machine info block",
        PROC_LIST_V1 | PROC_LIST_V1_INT => "process list block v1",
        PROC_LIST_V2 | PROC_LIST_V2_INT => "process list block v2",
        PROC_LIST_V3 | PROC_LIST_V3_INT => "process list block v3",
        PROC_LIST_V4 => "process list block v4",
        PROC_LIST_V5 => "process list block v5",
        PROC_LIST_V6 => "process list block v6",
        PROC_LIST_V7 => "process list block v7",
        PROC_LIST_V8 => "process list block v8",
        PROC_LIST_V9 => "process list block v9",
        FD_LIST | FD_LIST_INT => "fd list block",
        FD_LIST_V2 => "fd list block v2",
        EVENT | EVENT_INT => "event block",
        EVENT_V2 => "event block v2",
        EVENT_V2_LARGE => "large event block v2",
        EVENT_FLAGS => "event block",
        EVENT_FLAGS_V2 => "event block v2",
        EVENT_FLAGS_V2_LARGE => "large event block v2",
        IF_LIST | IF_LIST_INT => "interface list block",
        IF_LIST_V2 => "interface list block v2",
        USER_LIST | USER_LIST_INT => "user list block",
        USER_LIST_V2 => "user list block v2",
        _ => "unknown block",
    }
}
