//! A notebook on a fake cluster: the fake API server with the notebook's pod, its claim, and a
//! service-account directory (the in-cluster path) or a kubeconfig, plus the `jupyterflow`
//! command set up to use them from a temporary working directory on the notebook's volume.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::{Value, json};

use crate::fake_api::FakeApi;
use crate::helpers;

pub(crate) const NAMESPACE: &str = "jhub";
pub(crate) const POD: &str = "jupyter-alice";
pub(crate) const NODE: &str = "gke-jhub-user-pool-3f1c9a2b-k7xq";

/// Where the working directory lives, for the pre-flight check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Volume {
    /// An NFS mount: shared, nothing to read (two requests per run).
    Nfs,
    /// The user's claim, with this access mode (three requests per run).
    Claim(&'static str),
    /// An emptyDir: job pods would not see the files.
    EmptyDir,
}

pub(crate) struct Notebook {
    pub(crate) api: Arc<FakeApi>,
    pub(crate) home: tempfile::TempDir,
    /// The working directory jobs must see; the notebook's mount covers it.
    pub(crate) workdir: PathBuf,
    pub(crate) service_account: PathBuf,
    /// The notebook image's own file system (not on any volume): where its Python
    /// environments live. Empty unless a test puts one there, so no test reads the machine's.
    pub(crate) image: tempfile::TempDir,
}

/// The Zero-to-JupyterHub fixture pod, with its volume mounted over `workdir`.
pub(crate) fn notebook_pod(workdir: &Path, volume: Volume) -> Value {
    let text = std::fs::read_to_string(helpers::pod("zero-to-jupyterhub")).expect("fixture pod");
    let mut pod: Value = serde_json::from_str(&text).expect("fixture is JSON");
    pod["spec"]["nodeName"] = json!(NODE);
    let mount_name = match volume {
        Volume::Nfs => "shared-nfs",
        Volume::Claim(_) => "volume-alice",
        Volume::EmptyDir => "scratch",
    };
    if volume == Volume::EmptyDir {
        pod["spec"]["volumes"]
            .as_array_mut()
            .expect("volumes")
            .push(json!({"name": "scratch", "emptyDir": {}}));
    }
    let container = &mut pod["spec"]["containers"][0];
    let mounts = container["volumeMounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["name"] != mount_name);
    mounts.push(json!({"name": mount_name, "mountPath": workdir.to_string_lossy()}));
    pod
}

impl Notebook {
    pub(crate) fn start(volume: Volume) -> Notebook {
        let api = Arc::new(FakeApi::start());
        let home = helpers::temp_home();
        let workdir = std::fs::canonicalize(home.path()).expect("canonical home");
        let service_account = workdir.join(".sa");
        std::fs::create_dir_all(&service_account).expect("sa dir");
        api.write_service_account_dir(&service_account, NAMESPACE);
        api.add_pod(NAMESPACE, notebook_pod(&workdir, volume));
        let mode = match volume {
            Volume::Claim(mode) => mode,
            _ => "ReadWriteOnce",
        };
        api.add_pvc(
            NAMESPACE,
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "claim-alice", "namespace": NAMESPACE},
                "spec": {"accessModes": [mode], "resources": {"requests": {"storage": "10Gi"}}},
                "status": {"phase": "Bound", "accessModes": [mode]}
            }),
        );
        Notebook {
            api,
            home,
            workdir,
            service_account,
            image: tempfile::tempdir().expect("image dir"),
        }
    }

    /// The environment inside the notebook pod: service account, API address, $HOSTNAME.
    pub(crate) fn pod_env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), self.image_path()),
            (
                "HOME".into(),
                self.home.path().to_string_lossy().into_owned(),
            ),
            ("NB_USER".into(), "jovyan".into()),
            ("KUBERNETES_SERVICE_HOST".into(), self.api.host()),
            (
                "KUBERNETES_SERVICE_PORT".into(),
                self.api.port().to_string(),
            ),
            (
                "JUPYTERFLOW_SERVICEACCOUNT_DIR".into(),
                self.service_account.to_string_lossy().into_owned(),
            ),
            ("HOSTNAME".into(), POD.into()),
        ]
        .into_iter()
        .chain(
            helpers::hermetic_env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_string_lossy().into_owned())),
        )
        .collect()
    }

    /// The notebook's PATH: the image's conda and system bin folders (in the temp image tree).
    pub(crate) fn image_path(&self) -> String {
        let image = self.image.path().display();
        format!("{image}/opt/conda/bin:{image}/usr/bin")
    }

    /// `jupyterflow` as it runs inside the notebook pod.
    pub(crate) fn in_pod(&self) -> Command {
        let mut cmd = helpers::jupyterflow(self.home.path());
        cmd.current_dir(&self.workdir).envs(self.pod_env());
        cmd
    }

    /// `jupyterflow` outside the cluster, with a kubeconfig (contexts `fake`, `other`).
    pub(crate) fn with_kubeconfig(&self) -> Command {
        let path = self.workdir.join(".kubeconfig");
        std::fs::write(
            &path,
            self.api
                .kubeconfig_yaml(&[("fake", Some(NAMESPACE)), ("other", Some("elsewhere"))]),
        )
        .expect("write kubeconfig");
        let mut cmd = helpers::jupyterflow(self.home.path());
        cmd.current_dir(&self.workdir).env("KUBECONFIG", &path);
        cmd
    }

    pub(crate) fn workflows(&self) -> Vec<Value> {
        self.api.workflows(NAMESPACE)
    }

    /// Requests as `METHOD path` lines, for asserting exactly what was sent.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.api
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        helpers::scrub(text, self.home.path())
            .replace(&self.api.url(), "[SERVER]")
            .replace(&self.workdir.to_string_lossy().to_string(), "[HOME]")
    }
}

/// The name in `workflow.argoproj.io/NAME`.
pub(crate) fn submitted_name(stdout: &str) -> String {
    stdout
        .trim()
        .strip_prefix("workflow.argoproj.io/")
        .unwrap_or_else(|| panic!("not a workflow name: {stdout:?}"))
        .to_owned()
}

/// Waits for `condition` (checked every 20 ms), for as long as a loaded machine may need;
/// panics naming `what` after 60 s. Tests wait for what they need instead of sleeping.
pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits for the first Workflow to be submitted; its name.
pub(crate) fn first_workflow_name(api: &FakeApi) -> String {
    wait_until("the submission", || !api.workflows(NAMESPACE).is_empty());
    api.workflows(NAMESPACE)[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned()
}

/// How many requests so far had `part` in their path or query (`watch=true`, `/log`).
pub(crate) fn requests_with(api: &FakeApi, part: &str) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.path.contains(part) || r.query.contains(part))
        .count()
}
