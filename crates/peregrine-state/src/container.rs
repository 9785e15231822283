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

fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| b.is_ascii_hexdigit())
}

/// The 12-character container id found in one cgroup path component.
fn from_component(comp: &[u8]) -> Option<&str> {
    let comp = comp.strip_suffix(b".scope").unwrap_or(comp);
    let hex = if is_hex64(comp) {
        comp
    } else {
        PREFIXES.iter().find_map(|p| {
            comp.strip_prefix(p.as_bytes())
                .filter(|rest| is_hex64(rest))
        })?
    };
    // 64 ASCII hex digits
    std::str::from_utf8(&hex[..12]).ok()
}

/// The container id named by one cgroup (`subsys=path` or a bare path).
fn from_cgroup(cg: &[u8]) -> Option<&str> {
    let path = match cg.iter().position(|&c| c == b'=') {
        Some(i) => &cg[i + 1..],
        None => cg,
    };
    // the last matching component wins (nested cgroups name the innermost)
    path.rsplit(|&c| c == b'/').find_map(from_component)
}

/// Container id for a list of cgroups (`subsys=path` each, or bare paths):
/// the short (12 hex) id of the first path component that names a
/// container, or `"host"` when none does.
pub fn container_id<S: AsRef<str>>(cgroups: &[S]) -> &str {
    cgroups
        .iter()
        .find_map(|cg| from_cgroup(cg.as_ref().as_bytes()))
        .unwrap_or(HOST)
}

/// [`container_id`] of cgroups in an event's NUL-separated buffer, read
/// in place (ids are ASCII, so invalid UTF-8 elsewhere changes nothing).
pub fn container_id_raw(raw: &[u8]) -> &str {
    if raw.is_empty() {
        return HOST;
    }
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    raw.split(|&c| c == 0).find_map(from_cgroup).unwrap_or(HOST)
}

/// Metadata of one container, from the capture's `container` events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Short (12 hex) id.
    pub id: String,
    /// Engine (`CT_*` code of the event).
    pub kind: u32,
    /// Container name.
    pub name: String,
    /// Image as the engine reported it (`repo:tag` or id).
    pub image: String,
    /// Image repository.
    pub image_repo: String,
    /// Image tag.
    pub image_tag: String,
    /// Runs privileged, when the engine said.
    pub privileged: Option<bool>,
}

impl ContainerInfo {
    /// `container.type` text of the engine.
    pub fn type_str(&self) -> &'static str {
        match self.kind {
            0 => "docker",
            1 => "lxc",
            2 => "libvirt-lxc",
            3 => "mesos",
            4 => "rkt",
            5 => "custom",
            6 => "cri",
            7 => "containerd",
            8 => "cri-o",
            9 => "bpm",
            10 => "static",
            11 => "podman",
            _ => "unknown",
        }
    }

    /// Decodes the JSON of a `container` event (`{"container": {...}}`).
    /// `None` when the text is not such an object or has no id.
    pub fn from_json(text: &[u8]) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_slice(text).ok()?;
        let c = v.get("container")?;
        let s = |k: &str| c.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let id = s("id");
        if id.is_empty() {
            return None;
        }
        let image = s("image");
        let mut image_repo = s("imagerepo");
        let mut image_tag = s("imagetag");
        if image_repo.is_empty() && image_tag.is_empty() {
            let (r, t) = split_image(&image);
            image_repo = r.to_string();
            image_tag = t.to_string();
        }
        Some(ContainerInfo {
            id,
            kind: c.get("type").and_then(|x| x.as_u64()).unwrap_or(0) as u32,
            name: s("name"),
            image,
            image_repo,
            image_tag,
            privileged: c.get("privileged").and_then(|x| x.as_bool()),
        })
    }

    /// Metadata from the oldest `container` event version (id, type,
    /// name, image as separate parameters).
    pub fn from_fields(id: String, kind: u32, name: String, image: String) -> Self {
        let (r, t) = split_image(&image);
        ContainerInfo {
            image_repo: r.to_string(),
            image_tag: t.to_string(),
            id,
            kind,
            name,
            image,
            privileged: None,
        }
    }
}

/// Splits `repo[:tag][@digest]` into repository and tag (empty when absent).
fn split_image(image: &str) -> (&str, &str) {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        // a colon before the last '/' belongs to a registry port
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, ""),
    }
}

/// Container metadata by short id.
#[derive(Clone, Debug, Default)]
pub struct Containers {
    map: std::collections::HashMap<String, ContainerInfo>,
}

impl Containers {
    /// Adds or replaces a container's metadata.
    pub fn insert(&mut self, info: ContainerInfo) {
        self.map.insert(info.id.clone(), info);
    }

    /// Metadata of container `id`.
    pub fn get(&self, id: &str) -> Option<&ContainerInfo> {
        self.map.get(id)
    }
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
        let raw = format!("cpu=/user.slice\0cpu=/docker/{ID}\0");
        assert_eq!(container_id_raw(raw.as_bytes()), "9dbcbd0c435f");
        assert_eq!(container_id_raw(b"cpu=/a\xff/b\0"), HOST);
        assert_eq!(container_id_raw(b""), HOST);
        assert_eq!(
            container_id(&[format!("cpu=/system.slice/crio-conmon-{ID}.scope")]),
            HOST
        );
    }

    #[test]
    fn decodes_container_json() {
        let j = br#"{"container":{"Mounts":[],"id":"9dbcbd0c435f","image":"nginx:latest","imagerepo":"nginx","imagetag":"latest","name":"epic_cray","privileged":true,"type":0}}"#;
        let c = ContainerInfo::from_json(j).unwrap();
        assert_eq!(c.id, "9dbcbd0c435f");
        assert_eq!(c.name, "epic_cray");
        assert_eq!(
            (c.image_repo.as_str(), c.image_tag.as_str()),
            ("nginx", "latest")
        );
        assert_eq!(c.privileged, Some(true));
        assert_eq!(c.type_str(), "docker");
        assert!(ContainerInfo::from_json(b"{").is_none());
        assert!(ContainerInfo::from_json(b"{\"container\":{}}").is_none());
        assert_eq!(split_image("reg:5000/app"), ("reg:5000/app", ""));
        assert_eq!(
            split_image("reg:5000/app:1.2@sha256:ab"),
            ("reg:5000/app", "1.2")
        );
    }
}
