//! What users see when the cluster says no or misbehaves: every error is actionable and exits 3
//! with nothing submitted, retries recover from transient faults, and under random faults
//! every submission ends with exactly one workflow or a clear error — never two.

use std::collections::HashMap;
use std::time::Duration;

use crate::cluster_helpers::{NAMESPACE, Notebook, POD, Volume, submitted_name};
use crate::fake_api::{FakeApi, Fault, FaultRule};
use crate::helpers::run;

const EXIT_CLUSTER: i32 = 3;

fn rule(method: &'static str, path: &str, times: usize, fault: Fault) -> FaultRule {
    FaultRule::times(method, path, times, fault)
}

#[test]
fn an_invalid_token_is_a_401_that_says_what_to_do_and_never_shows_the_token() {
    let nb = Notebook::start(Volume::Nfs);
    let token = nb.api.token();
    nb.api.set_token_valid(&token, false);
    let out = run(nb.in_pod().args(["run", "-v", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    assert!(out.stderr.contains("service account"), "{}", out.stderr);
    assert!(!out.stderr.contains(&token) && !out.stdout.contains(&token));
}

#[test]
fn a_rotated_token_file_is_read_by_the_next_run() {
    let nb = Notebook::start(Volume::Nfs);
    assert_eq!(run(nb.in_pod().args(["run", "-c", "echo a"])).code, 0);
    let fresh = nb.api.rotate_token();
    // The old token no longer works; the kubelet writes the new one into the same file.
    std::fs::write(nb.service_account.join("token"), &fresh).expect("rotate token file");
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let last = nb.api.requests().pop().expect("requests");
    assert_eq!(last.token.as_deref(), Some(fresh.as_str()));
}

#[test]
fn forbidden_names_verb_resource_namespace_and_prints_the_role() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.forbid("create", "workflows");
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    let stderr = nb.scrub(&out.stderr);
    // The user comes from the server's message, as a real API server words it.
    assert!(
        stderr.contains(&format!(
            "system:serviceaccount:{NAMESPACE}:default-editor cannot create workflows.argoproj.io in namespace `{NAMESPACE}` (403 Forbidden)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("kind: RoleBinding"), "{stderr}");
    // …so the RoleBinding binds that service account, not a placeholder.
    assert!(
        stderr.contains(&format!(
            "subjects:\n- kind: ServiceAccount\n  name: default-editor\n  namespace: {NAMESPACE}\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with("run `jupyterflow doctor` in a notebook terminal: it checks everything `run` needs and says what to change"),
        "{stderr}"
    );
    assert!(nb.workflows().is_empty());
}

#[test]
fn a_forbidden_that_names_no_user_binds_the_service_account_we_know() {
    let forbidden = || {
        rule(
            "POST",
            "/workflows",
            1,
            Fault::Status {
                code: 403,
                retry_after: None,
            },
        )
    };
    let binding = |namespace: &str, name: &str| {
        format!("subjects:\n- kind: ServiceAccount\n  name: {name}\n  namespace: {namespace}\n")
    };
    // A projected token (a JWT) says who we are: its `sub`.
    let nb = Notebook::start(Volume::Nfs);
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmpodWI6bm90ZWJvb2stc2EifQ.c2ln";
    nb.api.set_token_valid(jwt, true);
    std::fs::write(nb.service_account.join("token"), jwt).expect("write the token");
    nb.api.inject(forbidden());
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr.contains(&binding(NAMESPACE, "notebook-sa")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("<notebook-service-account>"));

    // An opaque token says nothing: the notebook pod's serviceAccountName, read before.
    let nb = Notebook::start(Volume::Nfs);
    nb.api.inject(forbidden());
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "system:serviceaccount:{NAMESPACE}:default cannot create"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&binding(NAMESPACE, "default")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("<notebook-service-account>"));
}

#[test]
fn a_missing_own_pod_says_how_to_name_one() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb
        .in_pod()
        .env("HOSTNAME", "not-a-notebook")
        .args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("notebook pod `not-a-notebook` was not found in namespace `jhub`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--pod NAME"), "{}", out.stderr);
    assert!(out.stderr.contains("--pod-file"), "{}", out.stderr);
}

#[test]
fn argo_not_installed_is_said_plainly() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.uninstall_argo();
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Argo Workflows is not installed in this cluster"),
        "{}",
        out.stderr
    );
    let out = run(nb.in_pod().args(["list"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(out.stderr.contains("Argo Workflows is not installed"));
}

#[test]
fn unprocessable_shows_the_servers_field_causes() {
    let nb = Notebook::start(Volume::Nfs);
    // A label value the server refuses (longer than 63 characters) but that passes our own
    // checks only through a workflow file's `labels:` … we check those too, so ask the fake
    // to refuse the POST the way a validating webhook would.
    nb.api.inject(rule(
        "POST",
        "/workflows",
        1,
        Fault::Status {
            code: 422,
            retry_after: None,
        },
    ));
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr.contains("the API server refused"),
        "{}",
        out.stderr
    );
    assert!(nb.workflows().is_empty());
}

#[test]
fn tls_failure_and_connection_refused() {
    let nb = Notebook::start(Volume::Nfs);
    std::fs::write(nb.service_account.join("ca.crt"), FakeApi::foreign_ca_pem()).expect("ca");
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot verify the API server"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ca.crt"), "{}", out.stderr);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let out = run(nb
        .in_pod()
        .env("KUBERNETES_SERVICE_PORT", port.to_string())
        .args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
}

#[test]
fn a_slow_server_times_out_and_is_retried() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.inject(rule(
        "GET",
        "/pods/",
        1,
        Fault::Delay(Duration::from_secs(3)),
    ));
    let out = run(nb
        .in_pod()
        .args(["run", "-v", "--request-timeout", "1s", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("retrying get pods"), "{}", out.stderr);
    assert!(out.stderr.contains("did not answer"), "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.inject(rule(
        "POST",
        "/workflows",
        1,
        Fault::Status {
            code: 429,
            retry_after: Some(1),
        },
    ));
    let started = std::time::Instant::now();
    let out = run(nb.in_pod().args(["run", "-v", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(out.stderr.contains("retrying create"), "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.inject(rule(
        "GET",
        "/pods/",
        2,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    ));
    nb.api
        .inject(rule("POST", "/workflows", 1, Fault::DropBefore));
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn a_lost_response_is_recognised_as_our_own_workflow() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api
        .inject(rule("POST", "/workflows", 1, Fault::DropAfter));
    let out = run(nb.in_pod().args(["run", "-v", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let workflows = nb.workflows();
    assert_eq!(workflows.len(), 1, "not duplicated");
    assert_eq!(
        workflows[0]["metadata"]["name"],
        submitted_name(&out.stdout)
    );
    assert!(
        out.stderr.contains("our own earlier attempt"),
        "{}",
        out.stderr
    );
}

#[test]
fn retries_are_bounded() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.inject(rule(
        "GET",
        "/pods/",
        100,
        Fault::Status {
            code: 500,
            retry_after: None,
        },
    ));
    let out = run(nb.in_pod().args(["run", "-v", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(out.stderr.contains("gave up on get"), "{}", out.stderr);
    let attempts = nb.request_lines().len();
    assert_eq!(attempts, 6, "six attempts, then a clear error");
}

/// How long a slow create takes to land: far past `--request-timeout 1s` and all the retries
/// after it (at most about 8 s), so that the settling GET runs well before it lands.
const LATE: Duration = Duration::from_secs(12);

/// Waits (for as long as a late create may take, and a margin) until workflow `name` exists;
/// then returns every workflow.
fn wait_for_workflow(nb: &Notebook, name: &str) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + LATE + Duration::from_secs(30);
    loop {
        let workflows = nb.workflows();
        if workflows.iter().any(|w| w["metadata"]["name"] == name)
            || std::time::Instant::now() > deadline
        {
            return workflows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `hint:` of an error (the retry notes before it may quote the server's "try again").
fn hint(stderr: &str) -> &str {
    stderr.split_once("hint:").map_or("", |(_, hint)| hint)
}

/// The workflow an exit-4 message names.
fn named_as_unknown(stderr: &str) -> String {
    stderr
        .split("it is not known whether ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("names the workflow: {stderr}"))
        .to_owned()
}

#[test]
fn an_attempt_still_in_flight_is_never_reported_as_nothing_submitted() {
    let rejected = |code, retry_after| Fault::Status { code, retry_after };
    // After the first POST times out (the server applies it LATE later), the next attempts
    // fail for good in each of these ways; the settling GET then finds nothing *yet*.
    let cases: Vec<(&str, FaultRule)> = vec![
        (
            "five 503s",
            rule("POST", "/workflows", 5, rejected(503, Some(1))),
        ),
        (
            "five dropped connections",
            rule("POST", "/workflows", 5, Fault::DropBefore),
        ),
        ("a 403", rule("POST", "/workflows", 1, rejected(403, None))),
        // AlreadyExists for an object no GET finds: a new name would make a second run.
        (
            "a 409 for nothing",
            rule("POST", "/workflows", 1, rejected(409, None)),
        ),
    ];
    std::thread::scope(|scope| {
        for (case, then) in cases {
            scope.spawn(move || {
                let nb = Notebook::start(Volume::Nfs);
                nb.api.inject(FaultRule::once(
                    "POST",
                    "/workflows",
                    Fault::ApplyLater(LATE),
                ));
                nb.api.inject(then);
                let out =
                    run(nb
                        .in_pod()
                        .args(["run", "-v", "--request-timeout", "1s", "-c", "echo a"]));
                assert_eq!(out.code, 4, "{case}: {}", out.stderr);
                let name = named_as_unknown(&out.stderr);
                assert!(
                    out.stderr.contains("the server may still be creating it"),
                    "{case}: {}",
                    out.stderr
                );
                assert!(
                    !hint(&out.stderr).contains("try again"),
                    "{case}: never while the outcome is unknown: {}",
                    out.stderr
                );
                let workflows = wait_for_workflow(&nb, &name);
                let names: Vec<&str> = workflows
                    .iter()
                    .filter_map(|w| w["metadata"]["name"].as_str())
                    .collect();
                assert_eq!(names, [name.as_str()], "{case}: the late one, and only it");
            });
        }
    });
}

#[test]
fn dropped_connections_are_said_without_library_noise() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api
        .inject(FaultRule::always("GET", "/pods/", Fault::DropBefore));
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, EXIT_CLUSTER, "{}", out.stderr);
    assert!(
        out.stderr.contains("lost the connection to the API server"),
        "{}",
        out.stderr
    );
    // The cause stays readable; rustls' documentation link and kube's wrapper names go.
    assert!(out.stderr.contains("connection"), "{}", out.stderr);
    assert!(!out.stderr.contains("https://docs.rs"), "{}", out.stderr);
    assert!(!out.stderr.contains("ServiceError"), "{}", out.stderr);
}

/// How one faulted run ended.
enum Outcome {
    /// Exit 0 with this workflow name.
    Submitted(String),
    /// Exit 3: refused or unreachable, nothing created (not even later).
    Refused,
    /// Exit 4: it may exist; the message names it.
    Unknown(String),
}

/// How long a randomly slowed request takes before the server applies it: past the runs'
/// `--request-timeout 1s`, so the client has given up on it (and may be retrying) when it lands.
const RANDOM_LATE: Duration = Duration::from_secs(3);

#[test]
fn under_random_faults_every_submission_is_one_workflow_or_a_clear_error() {
    let nb = Notebook::start(Volume::Nfs);
    // Half of all requests fail: throttling, 5xx, dropped connections before and after the
    // server acted, slow answers, and refusals (403, 422) that no retry fixes. Some requests
    // are slow past the client's timeout and still applied after it gave up.
    nb.api.random_faults(20_261_128, 0.5);
    nb.api.random_late_faults(0.15, RANDOM_LATE);
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut recovered = 0;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..25)
                        .map(|_| {
                            run(nb.in_pod().args([
                                "run",
                                "-v",
                                "--request-timeout",
                                "1s",
                                "-c",
                                "echo a",
                            ]))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for out in worker.join().expect("worker") {
                assert!(!out.stderr.contains(&nb.api.token()), "token printed");
                if out.stderr.contains("our own earlier attempt")
                    || out.stderr.contains("whose answer was lost")
                {
                    recovered += 1;
                }
                outcomes.push(match out.code {
                    0 => Outcome::Submitted(submitted_name(&out.stdout)),
                    EXIT_CLUSTER => {
                        assert!(
                            out.stderr.contains("hint:"),
                            "a clear error: {}",
                            out.stderr
                        );
                        Outcome::Refused
                    }
                    4 => {
                        assert!(
                            !hint(&out.stderr).contains("try again"),
                            "not while the outcome is unknown: {}",
                            out.stderr
                        );
                        Outcome::Unknown(named_as_unknown(&out.stderr))
                    }
                    code => panic!("unexpected exit {code}: {}", out.stderr),
                });
            }
        }
    });
    nb.api.clear_faults();
    // Every request was received before its run ended; a slowed create lands RANDOM_LATE
    // after that. Count only once every late create has landed (with a margin for a loaded
    // machine): an exit 3 next to a workflow that lands afterwards is the bug to catch.
    std::thread::sleep(RANDOM_LATE + Duration::from_secs(5));
    assert_eq!(outcomes.len(), 200);
    assert!(
        recovered > 0,
        "some lost responses were recognised as our own"
    );
    check_accounting(&outcomes, &nb.workflows());
}

/// No submission twice; every reported workflow exists; every workflow was reported, or named
/// by a run that said it could not rule it out (so no run that exited 3 created one).
fn check_accounting(outcomes: &[Outcome], workflows: &[serde_json::Value]) {
    let mut by_submission: HashMap<String, usize> = HashMap::new();
    for wf in workflows {
        let id = wf["metadata"]["labels"]["jupyterflow.io/submission-id"]
            .as_str()
            .expect("submission label")
            .to_owned();
        *by_submission.entry(id).or_default() += 1;
    }
    assert!(
        by_submission.values().all(|&n| n == 1),
        "a duplicated submission"
    );
    let names: Vec<&str> = workflows
        .iter()
        .filter_map(|w| w["metadata"]["name"].as_str())
        .collect();
    let mut submitted = 0;
    let mut refused = 0;
    let mut unknown: Vec<&str> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Submitted(name) => {
                submitted += 1;
                assert!(
                    names.contains(&name.as_str()),
                    "{name} reported but not created"
                );
            }
            Outcome::Refused => refused += 1,
            Outcome::Unknown(name) => unknown.push(name),
        }
    }
    // Every workflow is one a run reported, or one a run said it could not rule out.
    for name in &names {
        let reported = outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Submitted(n) if n == name));
        assert!(
            reported || unknown.contains(name),
            "{name} created but reported as failed"
        );
    }
    assert!(refused > 0, "the faults include refusals");
    assert!(
        submitted > 100,
        "{submitted} submitted, {refused} refused, {} unknown",
        unknown.len()
    );
}

#[test]
fn twenty_parallel_submits_give_twenty_workflows() {
    let nb = Notebook::start(Volume::Nfs);
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| run(nb.in_pod().args(["run", "-c", "echo a"]))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut names: Vec<String> = outputs
        .iter()
        .map(|o| {
            assert_eq!(o.code, 0, "{}", o.stderr);
            submitted_name(&o.stdout)
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20);
    assert_eq!(nb.workflows().len(), 20);
    let pod_reads = nb
        .request_lines()
        .iter()
        .filter(|l| l.ends_with(&format!("/pods/{POD}")))
        .count();
    assert_eq!(pod_reads, 20);
}

#[test]
fn a_name_someone_else_holds_gets_a_new_suffix() {
    let nb = Notebook::start(Volume::Nfs);
    // 409 AlreadyExists for an object that is not ours: pick another generated name.
    nb.api.inject(rule(
        "POST",
        "/workflows",
        1,
        Fault::Status {
            code: 409,
            retry_after: None,
        },
    ));
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let workflows = nb.workflows();
    assert_eq!(workflows.len(), 1);
    assert_eq!(
        workflows[0]["metadata"]["name"],
        submitted_name(&out.stdout)
    );
    let posts = nb
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 2, "{:?}", nb.request_lines());
}
