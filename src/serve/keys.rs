//! The officers' keys file (`config/officers.toml` is the example): who
//! may open the board over SSH. Each entry maps one public key (OpenSSH
//! format) to an officer id, a role, and the file holding the customs
//! token issued to that officer, so that their actions are made under
//! their own token. A viewer needs no token: it gets the read-only wall.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::keys::PublicKey;
use russh::keys::ssh_key::public::KeyData;
use serde::Deserialize;

use crate::domain::Role;

/// The largest keys file read.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most entries a keys file may hold.
const MAX_ENTRIES: usize = 10_000;
/// The longest officer id or name.
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    officer: Vec<Written>,
}

/// An entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    key: String,
    officer_id: String,
    #[serde(default)]
    name: Option<String>,
    role: String,
    #[serde(default)]
    token_file: Option<PathBuf>,
}

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The officer id (as customs knows it).
    pub officer_id: String,
    /// The name shown until customs says it (the id when not given).
    pub name: String,
    /// What the key may do: a viewer only looks at the wall.
    pub role: Role,
    /// The customs token issued to the officer (none: a viewer).
    pub token_file: Option<PathBuf>,
}

/// The keys file, read and checked.
#[derive(Debug, Default)]
pub struct Keys {
    by_key: HashMap<KeyData, Arc<Entry>>,
}

impl Keys {
    /// Reads the keys file; relative token files are relative to it.
    pub fn load(path: &Path) -> Result<Keys, String> {
        let say = |e: &dyn std::fmt::Display| format!("keys file {}: {e}", path.display());
        let size = std::fs::metadata(path).map_err(|e| say(&e))?.len();
        if size > MAX_FILE_BYTES {
            return Err(say(&format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| say(&e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Keys::parse(&text, base).map_err(|e| say(&e))
    }

    /// Reads the text of a keys file. Errors name the entry (its place and
    /// officer id) and never quote a key or a path.
    pub fn parse(text: &str, base: &Path) -> Result<Keys, String> {
        let file: File = toml::from_str(text)
            .map_err(|e| crate::config::ConfigError::new(e.message()).to_string())?;
        if file.officer.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} [[officer]] entries"));
        }
        let mut keys = Keys::default();
        let mut officers: HashMap<String, Arc<Entry>> = HashMap::new();
        for (n, written) in file.officer.into_iter().enumerate() {
            let place = format!("[[officer]] {} ({})", n + 1, written.officer_id);
            let entry = entry(written.officer_id.clone(), &written, base)
                .map_err(|e| format!("{place}: {e}"))?;
            let key = PublicKey::from_openssh(written.key.trim())
                .map_err(|_| format!("{place}: key is not an OpenSSH public key"))?;
            // One officer, one identity: their keys agree on role and token.
            let entry = match officers.get(&entry.officer_id) {
                Some(known) if **known != entry => {
                    return Err(format!(
                        "{place}: another entry of {} gives another name, role or token_file",
                        entry.officer_id
                    ));
                }
                Some(known) => known.clone(),
                None => {
                    let entry = Arc::new(entry);
                    officers.insert(entry.officer_id.clone(), entry.clone());
                    entry
                }
            };
            if keys.by_key.insert(key.key_data().clone(), entry).is_some() {
                return Err(format!("{place}: the key is listed twice"));
            }
        }
        Ok(keys)
    }

    /// Whom a public key belongs to (its comment is not part of it).
    pub fn find(&self, key: &PublicKey) -> Option<&Arc<Entry>> {
        self.by_key.get(key.key_data())
    }

    /// Each officer once.
    pub fn officers(&self) -> Vec<Arc<Entry>> {
        let mut seen: HashMap<&str, Arc<Entry>> = HashMap::new();
        for entry in self.by_key.values() {
            seen.entry(entry.officer_id.as_str())
                .or_insert_with(|| entry.clone());
        }
        let mut officers: Vec<Arc<Entry>> = seen.into_values().collect();
        officers.sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        officers
    }

    /// How many keys it knows.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether it knows no key.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// An entry's identity, checked: a plain id and name, a known role, a
/// token file for whoever may act.
fn entry(officer_id: String, written: &Written, base: &Path) -> Result<Entry, String> {
    let plain = |text: &str| {
        !text.trim().is_empty()
            && text.chars().count() <= MAX_NAME_CHARS
            && !text.chars().any(char::is_control)
    };
    if !plain(&officer_id) {
        return Err(format!(
            "officer_id must be 1 to {MAX_NAME_CHARS} characters, no control characters"
        ));
    }
    let name = written.name.clone().unwrap_or_else(|| officer_id.clone());
    if !plain(&name) {
        return Err(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters, no control characters"
        ));
    }
    let role = match Role::parse(written.role.trim()) {
        role @ (Role::Viewer | Role::Officer | Role::Supervisor) => role,
        _ => return Err("role must be viewer, officer or supervisor".to_owned()),
    };
    let token_file = written.token_file.as_ref().map(|path| base.join(path));
    if role.may_act() && token_file.is_none() {
        return Err("an officer or supervisor needs a token_file".to_owned());
    }
    Ok(Entry {
        officer_id,
        name,
        role,
        token_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANG: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHqtAmNjhFhx0BvOCgrD98LUP4kX4pZEnkixyoS051G wang@laptop";
    const WALL: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzyeed/aTJVkEMtDsBw4N7OVcx2VGHiwIBKYhShrB71 wall";

    fn file(entries: &[(&str, &str, &str, Option<&str>)]) -> String {
        entries
            .iter()
            .map(|(key, id, role, token)| {
                let token = token.map_or_else(String::new, |t| format!("token_file = \"{t}\"\n"));
                format!("[[officer]]\nkey = \"{key}\"\nofficer_id = \"{id}\"\nrole = \"{role}\"\n{token}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn keys_map_to_officers_with_their_token_files() {
        let text = file(&[
            (WANG, "ALK-0417", "officer", Some("tokens/ALK-0417")),
            (WALL, "ALK-WALL1", "viewer", None),
        ]);
        let keys = Keys::parse(&text, Path::new("/etc/greenchannel")).unwrap();
        assert_eq!(keys.len(), 2);
        // The comment is not part of the key.
        let offered = PublicKey::from_openssh(WANG.trim_end_matches(" wang@laptop")).unwrap();
        let wang = keys.find(&offered).expect("known");
        assert_eq!(wang.officer_id, "ALK-0417");
        assert_eq!(wang.name, "ALK-0417");
        assert_eq!(wang.role, Role::Officer);
        assert_eq!(
            wang.token_file.as_deref(),
            Some(Path::new("/etc/greenchannel/tokens/ALK-0417"))
        );
        assert_eq!(keys.officers().len(), 2);
    }

    #[test]
    fn the_shipped_example_reads() {
        let text = include_str!("../../config/officers.toml");
        let keys = Keys::parse(text, Path::new("/etc/greenchannel")).unwrap();
        assert_eq!(keys.len(), 4);
        let roles: Vec<Role> = keys.officers().iter().map(|e| e.role.clone()).collect();
        assert!(roles.contains(&Role::Viewer) && roles.contains(&Role::Supervisor));
    }

    #[test]
    fn bad_entries_are_named_without_quoting_the_key() {
        for (text, says) in [
            (
                file(&[(WANG, "ALK-0417", "officer", None)]),
                "needs a token_file",
            ),
            (file(&[(WANG, "ALK-0417", "boss", None)]), "role must be"),
            (
                file(&[("ssh-ed25519 AAAAnotakey", "ALK-0417", "viewer", None)]),
                "not an OpenSSH public key",
            ),
            (
                file(&[
                    (WANG, "ALK-0417", "viewer", None),
                    (WANG, "ALK-0233", "viewer", None),
                ]),
                "listed twice",
            ),
            (
                file(&[
                    (WANG, "ALK-0417", "viewer", None),
                    (WALL, "ALK-0417", "officer", Some("t")),
                ]),
                "another name, role or token_file",
            ),
            (file(&[(WANG, "", "viewer", None)]), "officer_id must be"),
            (
                "[[officer]]\nkey = \"x\"\ncolour = \"red\"\n".to_owned(),
                "colour",
            ),
        ] {
            let err = Keys::parse(&text, Path::new(".")).unwrap_err();
            assert!(err.contains(says), "{says}: {err}");
            assert!(!err.contains("AAAA"), "{err}");
        }
    }
}
