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
