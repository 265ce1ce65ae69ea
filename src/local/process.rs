//! One attempt's process and its process group: start it the way Argo's container would
//! (exact argv, own group, no stdin), wait for it under a timeout and cancellation, and make
//! sure nothing of it survives (grandchildren included) when it ends or is stopped.
//!
//! Why this process becomes a child subreaper: when a job's shell dies, its background children
//! are re-parented. Without a subreaper they go to PID 1, and on machines whose PID 1 does not
//! reap (minimal containers, some VMs) they stay zombies forever, so "is the group gone?"
//! never becomes true. As subreaper they become our children and we reap them ourselves.

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::watch;

use super::signals::Cancel;
use crate::events::Exit;

/// How long to wait for the rest of a group after a SIGKILL; the kernel needs only moments.
const KILL_SETTLE: Duration = Duration::from_secs(2);
/// How often to look whether a process group is gone.
const POLL: Duration = Duration::from_millis(10);

/// A started attempt: the group leader and its output pipes.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) pgid: Pid,
    pub(crate) stdout: Option<ChildStdout>,
    pub(crate) stderr: Option<ChildStderr>,
}

/// How the wait for an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Exited(Exit),
    TimedOut(Exit),
    Cancelled(Exit),
}

/// Makes this process the reaper of its orphaned descendants (see the module doc). Best
/// effort: without it, termination still works but may wait out the grace period.
pub(crate) fn become_subreaper() {
    // Failure only means zombies may linger (PID 1's business); nothing to report.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_child_subreaper(true);
}

/// Makes the job leader die with jupyterflow, even when jupyterflow is killed with SIGKILL and
/// cannot stop its jobs itself: the kernel sends the leader SIGKILL when its parent thread
/// ends (`PR_SET_PDEATHSIG`). The runtime that spawns jobs runs on the main thread, which lives
/// as long as the process. A leader's own children in its group are not reached this way; they
/// lose their parent and usually their pipes.
fn die_with_this_process(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = nix::unistd::getpid();
        let setup = move || -> io::Result<()> {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            // jupyterflow may have died between the fork and the prctl: then no signal would
            // ever come, so do not start the job at all.
            if nix::unistd::getppid() != parent {
                return Err(io::Error::other(
                    "jupyterflow exited while starting the job",
                ));
            }
            Ok(())
        };
        // SAFETY: `setup` runs in the forked child before exec and makes only async-signal-safe
        // system calls (prctl, getppid); it allocates nothing and touches no lock.
        #[expect(
            unsafe_code,
            reason = "pre_exec is the only way to set PR_SET_PDEATHSIG in the child"
        )]
        unsafe {
            command.pre_exec(setup);
        }
    }
}

/// Starts `argv` in `workdir` with the current environment plus `env`, minus `env_remove`, in a
/// new process group, stdin from /dev/null, both output pipes captured for the caller to read.
pub(crate) fn spawn(
    argv: &[String],
    env: &[(String, String)],
    env_remove: &[&str],
    workdir: &Path,
) -> io::Result<Spawned> {
    let Some((program, arguments)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut command = Command::new(program);
    for name in env_remove {
        command.env_remove(name);
    }
    command
        .args(arguments)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        // Last resort if the executor itself is dropped mid-run: do not leave the leader.
        .kill_on_drop(true);
    die_with_this_process(&mut command);
    let mut child = command.spawn()?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| io::Error::other("the process exited before its id was read"))?;
    Ok(Spawned {
        pgid: Pid::from_raw(pid),
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        child,
    })
}

/// Waits for the leader to exit, the `timeout` to pass, or `cancel` to ask for a stop. In every
/// case the whole group is gone on return: after a normal exit leftovers are SIGKILLed at once
/// (as the kernel does when a container's main process exits); on timeout or cancellation the
/// group gets SIGTERM, then SIGKILL after `grace` (or as soon as `cancel` says `Now`).
pub(crate) async fn wait(
    spawned: &mut Spawned,
    timeout: Option<Duration>,
    cancel: &mut watch::Receiver<Cancel>,
    grace: Duration,
) -> io::Result<Ending> {
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        status = spawned.child.wait() => {
            let exit = to_exit(status?);
            kill_group(spawned.pgid, Signal::SIGKILL);
            group_gone(spawned.pgid, KILL_SETTLE).await;
            Ending::Exited(exit)
        }
        () = deadline => Ending::TimedOut(terminate(spawned, grace, cancel).await?),
        () = cancelled(cancel, Cancel::Gracefully) => {
            Ending::Cancelled(terminate(spawned, grace, cancel).await?)
        }
    };
    Ok(ending)
}

/// Waits for the leader to exit while passing each signal `forward` yields on to its whole
/// group (a supervisor hands on what its container is sent, and sends nothing of its own: the
/// kubelet escalates). Then, as after any normal exit, what is left of the group is SIGKILLed
/// at once, so no leftover holds the pipes open.
pub(crate) async fn wait_forwarding(
    spawned: &mut Spawned,
    forward: &mut tokio::sync::mpsc::UnboundedReceiver<Signal>,
) -> io::Result<Exit> {
    let status = loop {
        tokio::select! {
            status = spawned.child.wait() => break status?,
            Some(signal) = forward.recv() => kill_group(spawned.pgid, signal),
        }
    };
    kill_group(spawned.pgid, Signal::SIGKILL);
    group_gone(spawned.pgid, KILL_SETTLE).await;
    Ok(to_exit(status))
}

/// Resolves once `cancel` has gone as far as `level`; never, if its sender is gone first.
pub(crate) async fn cancelled(cancel: &mut watch::Receiver<Cancel>, level: Cancel) {
    if cancel.wait_for(|&c| c >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// SIGTERM to the group, SIGKILL to whatever is left after `grace` (at once when `cancel`
/// turns `Now` meanwhile); returns the leader's exit.
async fn terminate(
    spawned: &mut Spawned,
    grace: Duration,
    cancel: &mut watch::Receiver<Cancel>,
) -> io::Result<Exit> {
    let start = Instant::now();
    kill_group(spawned.pgid, Signal::SIGTERM);
    let waited = tokio::select! {
        status = tokio::time::timeout(grace, spawned.child.wait()) => status.ok(),
        () = cancelled(cancel, Cancel::Now) => None,
    };
    let status = if let Some(status) = waited {
        status?
    } else {
        kill_group(spawned.pgid, Signal::SIGKILL);
        spawned.child.wait().await?
    };
    // The leader is gone; its children may still be shutting down on the same grace.
    let left = grace.saturating_sub(start.elapsed());
    if !group_gone(spawned.pgid, left).await {
        kill_group(spawned.pgid, Signal::SIGKILL);
        group_gone(spawned.pgid, KILL_SETTLE).await;
    }
    Ok(to_exit(status))
}

fn kill_group(pgid: Pid, signal: Signal) {
    // ESRCH (already gone) is the good case; nothing else can be done about other errors.
    let _ = killpg(pgid, signal);
}

/// Polls until no process of group `pgid` exists (reaping the orphans we inherited as
/// subreaper, which would otherwise linger as zombies), for at most `within`.
/// Call only after the leader was reaped by tokio, so we never steal its exit status.
async fn group_gone(pgid: Pid, within: Duration) -> bool {
    let start = Instant::now();
    loop {
        reap_group(pgid);
        if killpg(pgid, None) == Err(Errno::ESRCH) {
            return true;
        }
        if start.elapsed() >= within {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn reap_group(pgid: Pid) {
    let group = Pid::from_raw(-pgid.as_raw());
    while let Ok(status) = waitpid(group, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

fn to_exit(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        // Stopped/continued are not final states; wait() only returns final ones.
        (None, None) => Exit::Code(-1),
    }
}
