//! The I/O around the environment: reading a pod file, finding and reading the user's config
//! file, and reading the current process's context (env vars, the NB_USER account). Kept small
//! so that `pod` and `user_config` stay pure and testable.

use std::io;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;

use super::pod::LocalContext;
use super::user_config::{self, ConfigError, UserConfig};

/// The config file's name in `$HOME` when `$JUPYTERFLOW_CONFIG_FILE` is not set.
pub const DEFAULT_CONFIG_FILE_NAME: &str = ".jupyterflow.yaml";

/// Why the pod or config file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is not a pod in JSON or YAML ({message}); \
         write it with `kubectl get pod NAME -o json`",
        .path.display()
    )]
    BadPod { path: PathBuf, message: String },
    #[error(
        "config file {} (named by $JUPYTERFLOW_CONFIG_FILE) does not exist; \
         create it (`jupyterflow config --generate-config`) or unset the variable",
        .path.display()
    )]
    ConfigMissing { path: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Reads a pod saved as JSON (`kubectl get pod -o json`) or YAML (`-o yaml`).
pub fn read_pod_file(path: &Path) -> Result<Pod, DiscoverError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiscoverError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |message: String| DiscoverError::BadPod {
        path: path.to_owned(),
        message,
    };
    // JSON first when it looks like JSON: serde_json's messages are the clearer ones for it.
    if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    } else {
        serde_saphyr::from_str(&text).map_err(|e| bad(e.without_snippet().to_string()))
    }
}

/// Where the config file is: `$JUPYTERFLOW_CONFIG_FILE` when set and non-empty, else
/// `$HOME/.jupyterflow.yaml`, else nowhere.
pub fn config_path(env_config_file: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    match (env_config_file, home) {
        (Some(file), _) if !file.is_empty() => Some(PathBuf::from(file)),
        (_, Some(home)) if !home.is_empty() => Some(Path::new(home).join(DEFAULT_CONFIG_FILE_NAME)),
        _ => None,
    }
}

/// Reads and parses a config file. A missing file is `Ok(None)`: that is right for the
/// default `~/.jupyterflow.yaml`, which most users never create. When the path came from
/// `$JUPYTERFLOW_CONFIG_FILE` the user asked for that file, so the caller should turn `None`
/// into [`DiscoverError::ConfigMissing`]; [`load_user_config`] does exactly that.
pub fn read_user_config(path: &Path) -> Result<Option<UserConfig>, DiscoverError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DiscoverError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(Some(user_config::parse(&text, path)?))
}

/// Finds and reads the config file with the rule above: the default file may be missing, an
/// explicitly named one may not. Returns the path read, for the "applied config from" note.
pub fn load_user_config(
    env_config_file: Option<&str>,
    home: Option<&str>,
) -> Result<Option<(PathBuf, UserConfig)>, DiscoverError> {
    let Some(path) = config_path(env_config_file, home) else {
        return Ok(None);
    };
    let explicit = env_config_file.is_some_and(|f| !f.is_empty());
    match read_user_config(&path)? {
        Some(config) => Ok(Some((path, config))),
        None if explicit => Err(DiscoverError::ConfigMissing { path }),
        None => Ok(None),
    }
}

/// The current process's context: PATH, HOME and NB_USER from the environment, and NB_USER's
/// uid/gid from the local account database (the notebook image defines the user, e.g.
/// jovyan 1000:100). `working_dir` should be absolute (the current directory).
pub fn local_context(working_dir: &Path) -> LocalContext {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let nb_user = var("NB_USER");
    let nb_user_ids = nb_user.as_deref().and_then(user_ids);
    LocalContext {
        working_dir: working_dir.display().to_string(),
        path: var("PATH"),
        home: var("HOME"),
        nb_user,
        nb_user_ids,
    }
}

/// uid and gid of a local account. A failed lookup is not an error: the ids are only a
/// fallback when the pod names no uid.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(name).ok().flatten()?;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }

    #[test]
    fn reads_json_pod() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pods/kubeflow-notebook.json"
        ));
        let pod = read_pod_file(path).expect("fixture reads");
        assert_eq!(pod.metadata.name.as_deref(), Some("mynb-0"));
    }

    #[test]
    fn reads_yaml_pod() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(
            dir.path(),
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nb\nspec:\n  containers:\n    - name: notebook\n      image: me/nb:1\n",
        );
        let pod = read_pod_file(&path).expect("yaml pod reads");
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.containers[0].image.as_deref(), Some("me/nb:1"));
    }

    #[test]
    fn bad_pod_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(dir.path(), "pod.json", "{\"spec\": 3}");
        let err = read_pod_file(&path).expect_err("not a pod");
        assert!(matches!(&err, DiscoverError::BadPod { path: p, .. } if *p == path));
        assert!(err.to_string().contains("pod.json"), "{err}");
    }

    #[test]
    fn missing_pod_file_is_a_read_error() {
        let err = read_pod_file(Path::new("/nonexistent/pod.json")).expect_err("missing");
        assert!(matches!(err, DiscoverError::Read { .. }));
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/pod.json")
        );
    }

    #[test]
    fn config_path_rules() {
        assert_eq!(
            config_path(Some("/etc/jf.yaml"), Some("/home/a")),
            Some(PathBuf::from("/etc/jf.yaml"))
        );
        assert_eq!(
            config_path(Some(""), Some("/home/a")),
            Some(PathBuf::from("/home/a/.jupyterflow.yaml"))
        );
        assert_eq!(
            config_path(None, Some("/home/a")),
            Some(PathBuf::from("/home/a/.jupyterflow.yaml"))
        );
        assert_eq!(config_path(None, None), None);
    }

    #[test]
    fn missing_default_config_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_str().expect("utf-8 temp dir");
        assert!(
            read_user_config(&dir.path().join(DEFAULT_CONFIG_FILE_NAME))
                .expect("missing is fine")
                .is_none()
        );
        assert!(
            load_user_config(None, Some(home))
                .expect("missing default")
                .is_none()
        );
    }

    #[test]
    fn missing_explicit_config_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let named = dir.path().join("jf.yaml");
        let err = load_user_config(named.to_str(), None).expect_err("named file must exist");
        assert!(matches!(&err, DiscoverError::ConfigMissing { path } if *path == named));
        assert!(err.to_string().contains("$JUPYTERFLOW_CONFIG_FILE"));
    }

    #[test]
    fn config_is_read_and_parse_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_str().expect("utf-8 temp dir");
        write(dir.path(), DEFAULT_CONFIG_FILE_NAME, "namespace: team\n");
        let (path, config) = load_user_config(None, Some(home))
            .expect("reads")
            .expect("present");
        assert_eq!(path, dir.path().join(DEFAULT_CONFIG_FILE_NAME));
        assert_eq!(config.namespace.as_deref(), Some("team"));

        let bad = write(dir.path(), "bad.yaml", "namespce: team\n");
        let err = read_user_config(&bad).expect_err("unknown key");
        assert!(matches!(
            err,
            DiscoverError::Config(ConfigError::UnknownKey(_))
        ));
        assert!(err.to_string().contains("bad.yaml:1"), "{err}");
    }

    #[test]
    fn local_context_uses_working_dir_and_root_ids() {
        let context = local_context(Path::new("/work/project"));
        assert_eq!(context.working_dir, "/work/project");
        // `root` exists on every Unix system, with ids 0:0.
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("no-such-user-jupyterflow"), None);
    }
}
