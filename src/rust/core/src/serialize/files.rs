//! Reading the files the loaders take (`load_model()`, `load_model_weights()`, their HDF5
//! and `_tf` variants): only regular files, and without ever blocking on a FIFO or a
//! device.

use std::fs::FileType;
use std::io::Read;
use std::path::Path;

/// What a non-regular file is, for messages; `None` for a regular file.
fn kind(t: &FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    if t.is_dir() {
        Some("a directory")
    } else if t.is_file() {
        None
    } else {
        Some("not a regular file")
    }
}

/// `Ok` when `path` is a regular file (symbolic links followed), else an error that says
/// what it is; nothing is opened.
pub fn check_regular_file(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no such file '{shown}'"),
        _ => format!("cannot read '{shown}': {e}"),
    })?;
    match kind(&meta.file_type()) {
        Some(what) => Err(format!("'{shown}' is {what}, not a regular file")),
        None => Ok(()),
    }
}

/// Reads the regular file at `path` (symbolic links followed) whole. Anything else (a
/// directory, a FIFO, a socket, a device) is an error that says what it is: the file is
/// opened without blocking (opening a FIFO for reading would wait for a writer) and
/// checked before any byte is read.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let mut f = opts.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no such file '{shown}'"),
        _ => format!("cannot open '{shown}': {e}"),
    })?;
    let meta = f.metadata().map_err(|e| format!("cannot read '{shown}': {e}"))?;
    if let Some(what) = kind(&meta.file_type()) {
        return Err(format!("'{shown}' is {what}, not a regular file"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).map_err(|e| format!("cannot read '{shown}': {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rkeras-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reads_regular_files_and_links_to_them() {
        let d = tmpdir("regular");
        std::fs::write(d.join("a"), b"abc").unwrap();
        assert_eq!(read_regular_file(&d.join("a")).unwrap(), b"abc");
        assert!(check_regular_file(&d.join("a")).is_ok());
        std::fs::write(d.join("empty"), b"").unwrap();
        assert_eq!(read_regular_file(&d.join("empty")).unwrap(), b"");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
            assert_eq!(read_regular_file(&d.join("link")).unwrap(), b"abc");
        }
        let e = read_regular_file(&d.join("missing")).unwrap_err();
        assert!(e.starts_with("no such file '") && e.ends_with("missing'"), "{e}");
        let e = read_regular_file(&d).unwrap_err();
        assert!(e.ends_with("is a directory, not a regular file"), "{e}");
        assert_eq!(check_regular_file(&d).unwrap_err(), e);
        assert_eq!(
            check_regular_file(&d.join("missing")).unwrap_err(),
            read_regular_file(&d.join("missing")).unwrap_err()
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_without_blocking_and_devices() {
        let d = tmpdir("fifo");
        let fifo = d.join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // no writer: a blocking open would hang this test
        let e = read_regular_file(&fifo).unwrap_err();
        assert!(e.ends_with("pipe' is a FIFO (named pipe), not a regular file"), "{e}");
        assert_eq!(check_regular_file(&fifo).unwrap_err(), e);
        let e = read_regular_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e, "'/dev/zero' is a character device, not a regular file");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
