//! The temporary files of atomic saves, and removing those a dead writer left behind.
//!
//! A save of `dir/name` writes `dir/.name.tmp-<host>-<pid>-<random>` first, then renames it
//! over `dir/name` (`R/persistence.R`, `write_atomic()`). A writer killed in between
//! (`kill -9`, a crash, a power cut) leaves its temporary behind; the next save of the same
//! target removes it once it is clearly abandoned:
//!
//! - older than a minute (its last write), and
//! - written on this host by a process that no longer runs, or, when that cannot be told
//!   (another host sharing the directory, a name without a writer, as older versions
//!   wrote), older than a day.
//!
//! Only regular files are removed, and only temporaries of that target.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Age after which a temporary of a dead writer on this host is removed.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// Age after which a temporary whose writer cannot be checked is removed.
pub const UNKNOWN_STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// This host's name, as written in temporary names (letters, digits, `.`, `_`, `-`; at
/// most 32).
fn host() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        if unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) } == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let name: String = String::from_utf8_lossy(&buf[..end])
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .take(32) // leaves room for the target's name in the 255 bytes a name may have
                .collect();
            if !name.is_empty() {
                return name;
            }
        }
    }
    "localhost".into()
}

fn prefix(target: &Path) -> Option<String> {
    Some(format!(".{}.tmp-", target.file_name()?.to_string_lossy()))
}

/// A new temporary path for a save of `target`: `.name.tmp-<host>-<pid>-<random>` in the
/// same directory.
pub fn temp_path(target: &Path) -> Result<PathBuf, String> {
    let prefix = prefix(target).ok_or_else(|| format!("'{}' is not a file name", target.display()))?;
    let random: u64 = rand::random();
    Ok(target.with_file_name(format!("{prefix}{}-{}-{random:016x}", host(), std::process::id())))
}

/// The writer a temporary's name gives (after the prefix): `(host, pid)`.
fn writer(rest: &str) -> Option<(&str, u32)> {
    let (head, random) = rest.rsplit_once('-')?;
    let (host, pid) = head.rsplit_once('-')?;
    if host.is_empty() || random.is_empty() || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((host, pid.parse().ok()?))
}

/// Whether process `pid` runs on this host: `Some(false)` when it surely does not (a
/// zombie, which a container without an init may keep forever, has stopped too).
#[cfg(unix)]
fn process_alive(pid: u32) -> Option<bool> {
    let pid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)?;
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Some(!zombie(pid));
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        Some(libc::EPERM) => Some(true), // runs, under another user
        _ => None,
    }
}

/// Whether `/proc` says process `pid` has exited but not been reaped.
#[cfg(unix)]
fn zombie(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // "pid (command) state ...": the command may hold spaces and parentheses
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()).is_some_and(|c| c == 'Z' || c == 'X')
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> Option<bool> {
    None
}

/// Whether a temporary, `age` old, named `rest` after the prefix, is abandoned.
fn abandoned(rest: &str, age: Duration, this_host: &str) -> bool {
    if age < STALE_AFTER {
        return false;
    }
    let alive = match writer(rest) {
        Some((host, pid)) if host == this_host => process_alive(pid),
        _ => None,
    };
    match alive {
        Some(alive) => !alive,
        None => age >= UNKNOWN_STALE_AFTER,
    }
}

/// Removes the abandoned temporaries of earlier saves of `target` (module docs); returns
/// the paths removed. Errors (an unreadable directory, a file that vanished) are skipped.
pub fn remove_stale_temps(target: &Path) -> Vec<PathBuf> {
    let Some(prefix) = prefix(target) else { return Vec::new() };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let this_host = host();
    let now = SystemTime::now();
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        // not followed: a link named like a temporary is left alone
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
        if !meta.file_type().is_file() {
            continue;
        }
        // a modification time in the future counts as new
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).unwrap_or(Duration::ZERO);
        if abandoned(rest, age, &this_host) && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rkeras-temps-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn zombies_count_as_gone() {
        // a child that exited and is not waited for yet is a zombie
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !zombie(pid as libc::pid_t) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(process_alive(pid), Some(false));
        c.wait().unwrap();
        assert_eq!(process_alive(pid), Some(false));
        assert_eq!(process_alive(std::process::id()), Some(true));
    }

    /// The pid of a process that has exited.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    }

    fn touch(path: &Path, age: Duration) {
        let f = std::fs::File::create(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn temp_names_name_the_writer() {
        let p = temp_path(Path::new("/some/dir/model.rkeras")).unwrap();
        assert_eq!(p.parent().unwrap(), Path::new("/some/dir"));
        let name = p.file_name().unwrap().to_str().unwrap();
        let rest = name.strip_prefix(".model.rkeras.tmp-").unwrap();
        assert_eq!(writer(rest), Some((host().as_str(), std::process::id())));
        assert_ne!(temp_path(Path::new("m")).unwrap(), temp_path(Path::new("m")).unwrap());
        assert_eq!(writer("my-host-12-00ff"), Some(("my-host", 12)));
        assert_eq!(writer("0123abcd"), None);
        assert_eq!(writer("host-x-00ff"), None);
    }

    #[test]
    fn only_abandoned_temporaries_of_the_target_go() {
        let d = tmpdir("stale");
        let target = d.join("model.rkeras");
        let h = host();
        let old = Duration::from_secs(120);
        let ancient = UNKNOWN_STALE_AFTER + Duration::from_secs(60);
        let dead = dead_pid();
        let me = std::process::id();
        let name = |host: &str, pid: u32, r: u32| format!(".model.rkeras.tmp-{host}-{pid}-{r:08x}");
        let cases: Vec<(String, Duration, bool)> = vec![
            (name(&h, dead, 1), old, true),                                 // dead writer, old
            (name(&h, dead, 2), Duration::from_secs(5), false),             // dead writer, fresh
            (name(&h, me, 3), ancient, false),                              // live writer
            (name("another-host", dead, 4), old, false),                    // cannot tell, old
            (name("another-host", dead, 5), ancient, true),                 // cannot tell, a day old
            (".model.rkeras.tmp-1c2f3a4b5d".into(), old, false),            // older rkeras's name
            (".model.rkeras.tmp-1c2f3a4b5e".into(), ancient, true),         //   ... a day old
            (format!(".other.rkeras.tmp-{h}-{dead}-00c0ffee"), old, false), // another target
            ("model.rkeras".into(), ancient, false),                        // the target itself
        ];
        for (n, age, _) in &cases {
            touch(&d.join(n), *age);
        }
        std::fs::create_dir(d.join(name(&h, dead, 6))).unwrap(); // not a regular file
        let mut removed = remove_stale_temps(&target);
        removed.sort();
        let mut want: Vec<PathBuf> = cases.iter().filter(|c| c.2).map(|c| d.join(&c.0)).collect();
        want.sort();
        assert_eq!(removed, want);
        for (n, _, gone) in &cases {
            assert_eq!(d.join(n).exists(), !gone, "{n}");
        }
        assert!(d.join(name(&h, dead, 6)).is_dir());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
