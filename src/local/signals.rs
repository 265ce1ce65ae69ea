//! Signals that stop a run: the first SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT turns a cancel
//! handle true and says which signal it was. Used by local runs and by following cluster runs.

use tokio::sync::watch;

/// A cancel handle that turns true on the first SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT,
/// and which signal it was (for the exit code, 128 + the signal: 130 for Ctrl-C, 143 for
/// SIGTERM). Job processes run in their own process groups, so a
/// terminal's Ctrl-C reaches only this process, and the executor stops the jobs itself
/// (SIGTERM, then SIGKILL after the grace period).
pub(crate) fn cancel_on_signals()
-> std::io::Result<(watch::Receiver<bool>, watch::Receiver<Option<i32>>)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // A closed terminal (SIGHUP) or Ctrl-\ (SIGQUIT) would otherwise kill only this process
    // and leave the jobs running in their own process groups.
    let mut hangup = signal(SignalKind::hangup())?;
    let mut quit = signal(SignalKind::quit())?;
    let (tx, rx) = watch::channel(false);
    let (which_tx, which_rx) = watch::channel(None);
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = interrupt.recv() => nix::sys::signal::Signal::SIGINT,
            _ = terminate.recv() => nix::sys::signal::Signal::SIGTERM,
            _ = hangup.recv() => nix::sys::signal::Signal::SIGHUP,
            _ = quit.recv() => nix::sys::signal::Signal::SIGQUIT,
        };
        let _ = which_tx.send(Some(signal as i32));
        let _ = tx.send(true);
        // Keep the senders alive so receivers do not see "closed" instead of "cancelled".
        tx.closed().await;
        drop(which_tx);
    });
    Ok((rx, which_rx))
}
