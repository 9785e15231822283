//! Path joining and normalisation as sinsp does it for fd names and cwd.

/// Longest path sinsp builds; longer joins yield a fixed marker.
const MAX_PATH: usize = 4096;

/// Joins `dir` and `name` the way sinsp does: an absolute `name` (or an
/// empty one) ignores `dir`; `.` and `..` components of `name` are
/// resolved (never above `dir`'s start when `dir` is used as the base);
/// repeated separators collapse and a trailing `/` is dropped.
pub fn concatenate_paths(dir: &str, name: &str) -> String {
    if dir.len() + name.len() + 1 > MAX_PATH {
        return "/DIR_TOO_LONG/FILENAME_TOO_LONG".to_string();
    }
    // Most names need no normalisation: the join is then a plain copy,
    // exactly what `join_and_normalize` would build.
    if is_plain(name.as_bytes()) {
        return if name.starts_with('/') || name.is_empty() {
            name.to_owned()
        } else {
            let mut out = String::with_capacity(dir.len() + name.len());
            out.push_str(dir);
            out.push_str(name);
            out
        };
    }
    join_and_normalize(dir, name)
}

/// True when `name` has nothing [`normalize_into`] would change: no `.`
/// or `..` component, no empty component (`//` or a trailing `/`) and no
/// NUL. Joining such a name onto `dir` is `dir` followed by `name` (or
/// `name` alone when absolute or empty), whatever `dir` holds.
fn is_plain(name: &[u8]) -> bool {
    // the first component of a relative name has no `/` before it
    if !name.starts_with(b"/") && is_dot_component(name) {
        return false;
    }
    // a byte loop: names are short, and memchr's set-up for each `/`
    // found costs more than it saves
    for (i, &c) in name.iter().enumerate() {
        if c == 0 {
            return false;
        }
        if c == b'/' {
            let rest = &name[i + 1..];
            if matches!(rest.first(), None | Some(b'/')) || is_dot_component(rest) {
                return false;
            }
        }
    }
    true
}

/// True when `rest`, which starts at a component, starts with a `.` or
/// `..` component.
fn is_dot_component(rest: &[u8]) -> bool {
    matches!(
        rest,
        [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..]
    )
}

/// The general join: copies `dir` when `name` is relative and non-empty,
/// then appends `name` resolving `.`, `..` and repeated separators.
fn join_and_normalize(dir: &str, name: &str) -> String {
    let mut out = Vec::with_capacity(dir.len() + name.len() + 1);
    let relative = !name.is_empty() && !name.starts_with('/');
    if relative {
        out.extend_from_slice(dir.as_bytes());
    }
    let base_nonempty = relative && !dir.is_empty();
    normalize_into(&mut out, name.as_bytes(), base_nonempty);
    // both inputs are `str`, but a removed `..` may split a character
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Moves the write position back to just after the previous separator.
fn rewind(out: &mut Vec<u8>) {
    // drop the separator we are sitting after, then everything up to the previous one
    if out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    }
    while let Some(&c) = out.last() {
        if c == b'/' {
            break;
        }
        out.pop();
    }
}

fn normalize_into(out: &mut Vec<u8>, path: &[u8], base_nonempty: bool) {
    let mut i = 0;
    loop {
        let c = path.get(i).copied().unwrap_or(0);
        if c == 0 {
            if out.len() > 1 && out.last() == Some(&b'/') {
                out.pop();
            }
            return;
        }
        let at_component_start = out.is_empty() || out.last() == Some(&b'/');
        if c == b'.' && at_component_start {
            let n1 = path.get(i + 1).copied().unwrap_or(0);
            let n2 = path.get(i + 2).copied().unwrap_or(0);
            if n1 == b'.' && n2 == b'/' {
                rewind(out);
                i += 3;
            } else if n1 == b'.' && n2 == 0 {
                rewind(out);
                i += 2;
            } else if n1 == b'/' {
                i += 2;
            } else if n1 == 0 {
                i += 1;
            } else {
                i = copy_run(out, path, i);
            }
        } else if c == b'/' {
            if out.last() == Some(&b'/') || (out.is_empty() && base_nonempty) {
                i += 1;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            i = copy_run(out, path, i);
        }
    }
}

/// Copies `path[i..]` up to the next separator or NUL (a component's
/// ordinary bytes, where nothing needs a decision) and returns where it
/// stopped.
#[inline]
fn copy_run(out: &mut Vec<u8>, path: &[u8], i: usize) -> usize {
    let rest = &path[i..];
    let n = rest
        .iter()
        .position(|&b| b == b'/' || b == 0)
        .unwrap_or(rest.len());
    out.extend_from_slice(&rest[..n]);
    i + n
}

/// Joins a cwd change onto the current cwd and makes sure the result ends
/// with `/`, as sinsp stores working directories.
pub fn update_cwd(cur: &str, change: &str) -> String {
    let mut s = concatenate_paths(cur, change);
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name built from up to four of these pieces (separators are
    /// pieces too), joined onto each of a few directories, comes out the
    /// same from [`concatenate_paths`] as from the general algorithm.
    #[test]
    fn plain_names_join_like_the_general_algorithm() {
        const PIECES: [&str; 13] = [
            "", "/", "a", "bc", ".", "..", "...", ".x", "..x", "x.", "//", "\0", "é",
        ];
        const DIRS: [&str; 9] = [
            "", "/", "/home/u/", "/a", "a/", "/a/../", "//", "/é/", "/a/.",
        ];
        let mut names = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|n| PIECES.iter().map(move |p| format!("{n}{p}")))
                .collect();
            names.extend(frontier.iter().cloned());
        }
        names.sort();
        names.dedup();
        let mut plain = 0;
        for name in &names {
            plain += usize::from(is_plain(name.as_bytes()));
            for dir in DIRS {
                assert_eq!(
                    concatenate_paths(dir, name),
                    join_and_normalize(dir, name),
                    "dir {dir:?}, name {name:?}"
                );
            }
        }
        // both paths are exercised
        assert!(
            plain > 1000 && plain < names.len() / 2,
            "{plain} plain names"
        );
    }

    #[test]
    fn plain_names_are_recognised() {
        for name in ["", "a", "/a", "/a/b", ".x/..y", "a/...", "x./y.", "/é"] {
            assert!(is_plain(name.as_bytes()), "{name:?}");
        }
        for name in [
            ".", "..", "./a", "../a", "a/.", "a/..", "a/./b", "/", "a/", "a//b", "//a", "a\0b",
        ] {
            assert!(!is_plain(name.as_bytes()), "{name:?}");
        }
    }

    #[test]
    fn joins_and_normalises() {
        assert_eq!(concatenate_paths("/home/u/", "a.txt"), "/home/u/a.txt");
        assert_eq!(concatenate_paths("/home/u/", "/etc/passwd"), "/etc/passwd");
        assert_eq!(concatenate_paths("/home/u/", "../x"), "/home/x");
        assert_eq!(concatenate_paths("/home/u/", "./x//y/"), "/home/u/x/y");
        assert_eq!(concatenate_paths("/", ".."), "/");
        assert_eq!(concatenate_paths("/a/", "."), "/a");
        assert_eq!(concatenate_paths("", "/"), "/");
        assert_eq!(concatenate_paths("/a/", ""), "");
        assert_eq!(concatenate_paths("/a/", ".hidden"), "/a/.hidden");
        assert_eq!(concatenate_paths("/a/", "..x/y/../z"), "/a/..x/z");
        assert_eq!(concatenate_paths("/a/", "b.c/./d\0e"), "/a/b.c/d");
        assert_eq!(concatenate_paths("/a/", "x/.."), "/a");
        assert_eq!(concatenate_paths("/é/", "../x"), "/x");
        assert_eq!(update_cwd("/a/", "b"), "/a/b/");
        assert_eq!(update_cwd("/a/", "/"), "/");
    }
}
