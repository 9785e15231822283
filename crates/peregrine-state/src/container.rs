//! Container id from a process's cgroups (docker, cri-o, containerd,
//! podman), as sinsp's container engines recognise them.

/// Id used for processes outside any container.
pub const HOST: &str = "host";

const PREFIXES: &[&str] = &[
    "docker-",
    "crio-",
    "cri-containerd-",
    "libpod-",
    "containerd-",
];

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The 12-character container id found in one cgroup path component.
fn from_component(comp: &str) -> Option<&str> {
    let comp = comp.strip_suffix(".scope").unwrap_or(comp);
    if is_hex64(comp) {
        return Some(&comp[..12]);
    }
    for p in PREFIXES {
        if let Some(rest) = comp.strip_prefix(p)
            && is_hex64(rest)
        {
            return Some(&rest[..12]);
        }
    }
    None
}

/// Container id for a list of cgroups (`subsys=path` each, or bare paths):
/// the short (12 hex) id of the first path component that names a
/// container, or `"host"` when none does.
pub fn container_id<S: AsRef<str>>(cgroups: &[S]) -> &str {
    for cg in cgroups {
        let cg = cg.as_ref();
        let path = cg.split_once('=').map_or(cg, |(_, p)| p);
        // the last matching component wins (nested cgroups name the innermost)
        if let Some(id) = path.rsplit('/').find_map(from_component) {
            return id;
        }
    }
    HOST
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9dbcbd0c435f2b3a4c6e9e4d8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";

    #[test]
    fn recognises_engines() {
        assert_eq!(container_id(&[format!("cpu=/docker/{ID}")]), "9dbcbd0c435f");
        assert_eq!(
            container_id(&[format!("0::/system.slice/docker-{ID}.scope")]),
            "9dbcbd0c435f"
        );
        assert_eq!(
            container_id(&[format!("cpu=/kubepods.slice/crio-{ID}.scope")]),
            "9dbcbd0c435f"
        );
        assert_eq!(
            container_id(&[format!(
                "cpu=/kubepods/besteffort/pod1/cri-containerd-{ID}.scope"
            )]),
            "9dbcbd0c435f"
        );
        assert_eq!(
            container_id(&[format!("cpu=/machine.slice/libpod-{ID}.scope")]),
            "9dbcbd0c435f"
        );
        assert_eq!(
            container_id(&[format!("cpu=/kubepods/pod-x/{ID}")]),
            "9dbcbd0c435f"
        );
        assert_eq!(container_id(&["cpu=/user.slice", "0::/init.scope"]), HOST);
        assert_eq!(container_id::<&str>(&[]), HOST);
        assert_eq!(
            container_id(&[format!("cpu=/system.slice/crio-conmon-{ID}.scope")]),
            HOST
        );
    }
}
