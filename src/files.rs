//! A node's files are its own: directories 0700, files 0600, and a node refuses to run on a key or
//! a database that other users of the machine may read.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Permission bits for the group and others: none may be set on a node's secrets.
const SHARED_BITS: u32 = 0o077;

/// Creates `dir` and its missing parents, each 0700 (existing ones are left as they are).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Writes `contents` to `path`, replacing what was there, readable and writable by this user only.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // A file that existed keeps its mode through `open`: narrow it too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Writes a new secret to `path`, durably and 0600, in a private directory; never overwrites one.
pub fn write_new_secret(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Creates `path` empty and 0600 unless it exists (SQLite gives its WAL and SHM files the mode
/// of the database file).
pub fn create_private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// Copies `from` to the new file `to` (never an existing one), readable and writable by this user
/// only, and durably.
pub fn copy_private_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = std::fs::File::open(from)?;
    let mut target = OpenOptions::new().write(true).create_new(true).mode(0o600).open(to)?;
    io::copy(&mut source, &mut target)?;
    target.sync_all()
}

/// Refuses a file that others may read or write: why, naming the file and its mode.
pub fn check_private(path: &Path) -> Result<(), String> {
    let mode = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.permissions().mode();
    if mode & SHARED_BITS == 0 {
        return Ok(());
    }
    Err(format!(
        "{} may be read by other users (mode {:o}); a node runs only on private keys and data: chmod 600 it",
        path.display(),
        mode & 0o777
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn what_is_written_is_private_and_what_is_shared_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("node/keys");
        create_private_dir(&node).unwrap();
        assert_eq!((mode(&node), mode(node.parent().unwrap())), (0o700, 0o700));
        let config = node.join("hunyu.toml");
        std::fs::write(&config, "old").unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check_private(&config).unwrap_err().contains("mode 644"));
        write_private(&config, b"new").unwrap();
        assert_eq!((mode(&config), std::fs::read_to_string(&config).unwrap().as_str()), (0o600, "new"));
        assert!(check_private(&config).is_ok());
        let secret = node.join("signing.pem");
        write_new_secret(&secret, b"key").unwrap();
        assert!(write_new_secret(&secret, b"other").is_err(), "a secret was overwritten");
        let database = node.join("hunyu.db");
        create_private_file(&database).unwrap();
        create_private_file(&database).unwrap();
        assert_eq!(mode(&database), 0o600);
    }
}
