//! Connection profiles: a TOML file naming the server, the TLS files and the clID, so daily
//! use is `epp-cli domain info example.test`. Relative paths are relative to the profile.
//!
//! ```toml
//! server = "127.0.0.1:7700"
//! server_name = "localhost"      # optional; default: the host part of `server`
//! cert = "registrar.crt"
//! key = "registrar.key"
//! ca = "ca.crt"
//! cl_id = "demo"
//! password_file = "password"     # optional; else $EPP_PASSWORD, else a prompt
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: Option<String>,
    pub server_name: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub cl_id: Option<String>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("profile {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
}

impl Profile {
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut p: Profile = toml::from_str(&text).map_err(|e| ProfileError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for f in [&mut p.cert, &mut p.key, &mut p.ca, &mut p.password_file]
            .into_iter()
            .flatten()
        {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        Ok(p)
    }

    /// The default profile location: `$EPP_CLI_PROFILE`, else `~/.config/epp-cli/profile.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("EPP_CLI_PROFILE") {
            return Some(PathBuf::from(p));
        }
        let home = std::env::var_os("HOME")?;
        let p = PathBuf::from(home).join(".config/epp-cli/profile.toml");
        p.exists().then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_profile() {
        let dir = std::env::temp_dir().join(format!("epp-cli-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.toml");
        std::fs::write(&path, "server = \"127.0.0.1:700\"\ncert = \"c.pem\"\nca = \"/abs/ca.pem\"\ncl_id = \"demo\"\n").unwrap();
        let p = Profile::load(&path).unwrap();
        assert_eq!(p.cert.unwrap(), dir.join("c.pem"));
        assert_eq!(p.ca.unwrap(), PathBuf::from("/abs/ca.pem"));
        std::fs::write(&path, "sever = \"x\"\n").unwrap();
        assert!(matches!(
            Profile::load(&path),
            Err(ProfileError::Parse { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
