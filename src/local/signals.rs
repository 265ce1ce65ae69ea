//! Signals that stop a run: the first SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT stops it
//! gracefully, a second one stops it at once, and the first one's number is kept for the exit
//! code.

use tokio::sync::watch;

/// How far a cancellation has gone, as a cancel handle carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Cancel {
    /// Run on.
    #[default]
    No,
    /// Stop: running jobs get SIGTERM, then SIGKILL after the grace period.
    Gracefully,
    /// Stop now: running jobs get SIGKILL (a second Ctrl-C).
    Now,
}

/// A cancel handle that turns `Gracefully` on the first SIGINT (Ctrl-C), SIGTERM, SIGHUP or
/// SIGQUIT and `Now` on the second, and which signal came first (for the exit code, 128 + the
/// signal: 130 for Ctrl-C, 143 for SIGTERM). Job processes run in their own process groups, so
/// a terminal's Ctrl-C reaches only this process, and the executor stops the jobs itself.
pub(crate) fn cancel_on_signals()
-> std::io::Result<(watch::Receiver<Cancel>, watch::Receiver<Option<i32>>)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // A closed terminal (SIGHUP) or Ctrl-\ (SIGQUIT) would otherwise kill only this process
    // and leave the jobs running in their own process groups.
    let mut hangup = signal(SignalKind::hangup())?;
    let mut quit = signal(SignalKind::quit())?;
    let (tx, rx) = watch::channel(Cancel::No);
    let (which_tx, which_rx) = watch::channel(None);
    tokio::spawn(async move {
        for level in [Cancel::Gracefully, Cancel::Now] {
            let signal = tokio::select! {
                _ = interrupt.recv() => nix::sys::signal::Signal::SIGINT,
                _ = terminate.recv() => nix::sys::signal::Signal::SIGTERM,
                _ = hangup.recv() => nix::sys::signal::Signal::SIGHUP,
                _ = quit.recv() => nix::sys::signal::Signal::SIGQUIT,
                () = tx.closed() => return,
            };
            if level == Cancel::Gracefully {
                let _ = which_tx.send(Some(signal as i32));
            }
            let _ = tx.send(level);
        }
        // Keep the senders alive so receivers do not see "closed" instead of "cancelled".
        tx.closed().await;
        drop(which_tx);
    });
    Ok((rx, which_rx))
}
