//! Filling the unknown local address of a socket from the machine's
//! network interfaces, as sinsp does for unconnected (UDP) sockets.

use peregrine_scap::records::InterfaceRecord;

use crate::fd::{FdInfo, SockInfo};

fn v4(b: &[u8]) -> Option<[u8; 4]> {
    b.try_into().ok()
}

fn v6(b: &[u8]) -> Option<[u8; 16]> {
    b.try_into().ok()
}

const LOOPBACK4: [u8; 4] = [127, 0, 0, 1];
const LOOPBACK6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// Local IPv4 address used to reach `dest`.
fn infer_v4(ifs: &[InterfaceRecord], dest: [u8; 4]) -> [u8; 4] {
    let list: Vec<([u8; 4], [u8; 4])> = ifs
        .iter()
        .filter_map(|i| Some((v4(&i.addr)?, v4(&i.netmask)?)))
        .collect();
    if let Some((a, _)) = list.iter().find(|(a, _)| *a == dest) {
        return *a;
    }
    let masked = |x: [u8; 4], m: [u8; 4]| [x[0] & m[0], x[1] & m[1], x[2] & m[2], x[3] & m[3]];
    if let Some((a, _)) = list
        .iter()
        .find(|(a, m)| masked(*a, *m) == masked(dest, *m))
    {
        return *a;
    }
    list.iter()
        .find(|(a, _)| *a != LOOPBACK4)
        .map_or([0; 4], |(a, _)| *a)
}

/// Local IPv6 address used to reach `dest` (same /64, else first non-loopback).
fn infer_v6(ifs: &[InterfaceRecord], dest: [u8; 16]) -> [u8; 16] {
    let list: Vec<[u8; 16]> = ifs.iter().filter_map(|i| v6(&i.addr)).collect();
    if let Some(a) = list.iter().find(|a| **a == dest) {
        return *a;
    }
    if let Some(a) = list.iter().find(|a| a[..8] == dest[..8]) {
        return *a;
    }
    list.iter()
        .find(|a| **a != LOOPBACK6)
        .copied()
        .unwrap_or([0; 16])
}

/// Replaces a zero source (or destination) address of a connected socket
/// with the interface address sinsp would infer.
pub(crate) fn infer_local(ifs: &[InterfaceRecord], f: &mut FdInfo) {
    match &mut f.sock {
        SockInfo::Ipv4 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => {
            if *sip != [0; 4] && *dip != [0; 4] {
                return;
            }
            if *sip == [0; 4] {
                let n = infer_v4(ifs, *dip);
                if !(n == *dip && sport == dport) {
                    *sip = n;
                }
            } else {
                let n = infer_v4(ifs, *sip);
                if !(n == *sip && sport == dport) {
                    *dip = n;
                }
            }
        }
        SockInfo::Ipv6 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => {
            if *sip != [0; 16] && *dip != [0; 16] {
                return;
            }
            if *sip == [0; 16] {
                let n = infer_v6(ifs, *dip);
                if !(n == *dip && sport == dport) {
                    *sip = n;
                }
            } else {
                let n = infer_v6(ifs, *sip);
                if !(n == *sip && sport == dport) {
                    *dip = n;
                }
            }
        }
        _ => {}
    }
}
