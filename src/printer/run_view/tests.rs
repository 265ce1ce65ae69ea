//! The run view fed events by hand: counting, ordering, summaries and what quiet mode still says.
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use super::*;
use crate::events::RunStatus;

/// A writer the test can read back after the printer is done with it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn done(job: &str) -> RunEvent {
    RunEvent::JobFinished {
        job: job.into(),
        phase: JobPhase::Succeeded,
        attempts: 1,
        exit: Some(Exit::Code(0)),
        reason: None,
        duration: Duration::from_secs(2),
        log: None,
    }
}

#[test]
fn jobs_not_announced_at_the_start_are_counted_in_order() {
    let err = Shared::default();
    let mut printer = Printer::new(Box::new(io::sink()), Box::new(err.clone()));
    let mut view = RunView::new(ViewMode::Plain, PathBuf::from("/"));
    let point = "train(0:p0:0.1)";
    for event in [
        RunEvent::RunStarted {
            run_id: Some("wf".into()),
            jobs: vec!["eval".into()],
        },
        RunEvent::JobStarted {
            job: point.into(),
            attempt: 1,
            max_attempts: 1,
            log: None,
        },
        done(point),
        done("eval"),
        RunEvent::RunFinished {
            status: RunStatus::Succeeded,
            duration: Duration::from_secs(5),
        },
    ] {
        view.handle(&mut printer, &event);
    }
    assert_eq!(view.total, 2);
    let text = String::from_utf8(err.0.lock().expect("lock").clone()).expect("UTF-8");
    assert!(
        text.contains("wf: Succeeded in 5.0s (2 jobs: 2 succeeded)"),
        "{text}"
    );
    let eval = text.find("\neval ").expect("eval in the summary");
    let train = text
        .find("\ntrain(0:p0:0.1) ")
        .expect("the point in the summary");
    assert!(
        eval < train,
        "announced jobs first, then in order seen: {text}"
    );
}
