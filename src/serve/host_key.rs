//! The server's host key: made once (ed25519, from the operating system's
//! randomness) and kept, so that officers' `known_hosts` stay true across
//! restarts. A key that cannot be read, or made and written, stops the
//! server with a message saying which file and why.

use std::path::Path;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::{HashAlg, LineEnding};

/// The host key in `path`: read if the file is there, else made and
/// written there (mode 0600, its directory made if need be).
pub fn load_or_make(path: &Path) -> Result<PrivateKey, String> {
    let say =
        |what: &str, e: &dyn std::fmt::Display| format!("host key {}: {what}: {e}", path.display());
    if path.exists() {
        return PrivateKey::read_openssh_file(path).map_err(|e| say("cannot be read", &e));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| say("no randomness to make it", &e))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    key.set_comment("greenchannel host key");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| say("its directory cannot be made", &e))?;
    }
    key.write_openssh_file(path, LineEnding::LF)
        .map_err(|e| say("cannot be written", &e))?;
    tracing::info!(
        "made the host key {} ({})",
        path.display(),
        key.public_key().fingerprint(HashAlg::Sha256)
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir =
            std::env::temp_dir().join(format!("greenchannel-host-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state/ssh_host_ed25519_key");
        let made = load_or_make(&path).unwrap();
        let again = load_or_make(&path).unwrap();
        assert_eq!(made.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        let err = load_or_make(&path).unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
