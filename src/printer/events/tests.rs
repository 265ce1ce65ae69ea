//! The wire format held to docs/events.md: every event type the serializer writes has an
//! example there with exactly the fields it writes, every example is one the serializer could
//! have written, and every type has its section.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::*;
use crate::events::{JobPhase, RunStatus};

const DOC: &str = include_str!("../../../docs/events.md");

/// The lines of every ```jsonl block of the document.
fn doc_lines() -> Vec<&'static str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in DOC.lines() {
        match line.trim() {
            "```jsonl" => inside = true,
            "```" => inside = false,
            text if inside && !text.is_empty() => lines.push(text),
            _ => {}
        }
    }
    lines
}

fn object(line: &str) -> Map<String, Value> {
    assert!(
        line.ends_with('\n') || !line.contains('\n'),
        "one line: {line:?}"
    );
    assert_eq!(line.trim_end().lines().count(), 1, "one line: {line:?}");
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {line:?} ({other:?})"),
    }
}

/// `type` and the field names (sorted).
fn shape(map: &Map<String, Value>) -> (String, Vec<String>) {
    let kind = map
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no \"type\": {map:?}"))
        .to_owned();
    (kind, map.keys().cloned().collect())
}

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_860_001_250)
}

fn context() -> Context {
    Context::argo(
        &PathBuf::from("/home/jovyan/work"),
        "jhub",
        Some("https://argo.example.com/workflows/jhub/wf".into()),
    )
}

/// One event of each `RunEvent` variant. `variant` matches exhaustively, so a new variant
/// does not compile until it has a sample here (and so a line, and a documented type).
fn samples() -> Vec<RunEvent> {
    let log = Some(PathBuf::from(
        "/home/jovyan/work/.jupyterflow/runs/r/logs/train.log",
    ));
    let samples = vec![
        RunEvent::RunStarted {
            run_id: Some("wf".into()),
            jobs: vec!["prep".into(), "train".into()],
        },
        RunEvent::JobStarted {
            job: "train".into(),
            attempt: 1,
            max_attempts: 2,
            log: log.clone(),
        },
        RunEvent::JobOutput {
            job: "train".into(),
            stream: Stream::Stderr,
            line: "epoch 1".into(),
        },
        RunEvent::JobProgress {
            job: "train".into(),
            line: "epoch 1".into(),
        },
        RunEvent::JobRetrying {
            job: "train".into(),
            attempt: 1,
            exit: Some(Exit::Code(2)),
            reason: "exit code 2".into(),
            delay: Duration::from_secs(1),
        },
        RunEvent::JobFinished {
            job: "train".into(),
            phase: JobPhase::Failed,
            attempts: 2,
            exit: Some(Exit::Signal(9)),
            reason: Some("killed by signal 9 (SIGKILL)".into()),
            duration: Duration::from_micros(1_234_567),
            log,
        },
        RunEvent::JobLogTail {
            job: "train".into(),
            lines: vec!["Traceback".into(), "ValueError: lr".into()],
        },
        RunEvent::Stopping {
            jobs: 1,
            grace: Some(Duration::from_secs(10)),
        },
        RunEvent::RunFinished {
            status: RunStatus::Failed,
            duration: Duration::from_millis(2500),
        },
    ];
    let covered: BTreeSet<usize> = samples.iter().map(variant).collect();
    assert_eq!(covered.len(), 9, "one sample per RunEvent variant");
    samples
}

fn variant(event: &RunEvent) -> usize {
    match event {
        RunEvent::RunStarted { .. } => 0,
        RunEvent::JobStarted { .. } => 1,
        RunEvent::JobOutput { .. } => 2,
        RunEvent::JobProgress { .. } => 3,
        RunEvent::JobRetrying { .. } => 4,
        RunEvent::JobFinished { .. } => 5,
        RunEvent::JobLogTail { .. } => 6,
        RunEvent::Stopping { .. } => 7,
        RunEvent::RunFinished { .. } => 8,
    }
}

/// `event` as a fresh stream writes it.
fn line(event: &RunEvent, context: &Context, at: SystemTime) -> String {
    Writer::new(context.clone()).line(event, at)
}

/// Every line the serializer can write, one per type.
fn written() -> Vec<String> {
    let mut lines: Vec<String> = samples()
        .iter()
        .map(|event| line(event, &context(), at()))
        .collect();
    let writer = Writer::new(context());
    lines.push(writer.submitted("wf", "Workflow", at()));
    lines.push(detached("wf", at()));
    lines
}

#[test]
fn every_type_written_is_documented_with_exactly_its_fields() {
    let mut documented: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
    for line in doc_lines() {
        let (kind, fields) = shape(&object(line));
        documented.entry(kind).or_default().insert(fields);
    }
    let mut types_written = BTreeSet::new();
    for line in written() {
        let (kind, fields) = shape(&object(&line));
        // (A parsed Map sorts its keys: the order is checked on the text.)
        assert!(
            line.starts_with(&format!(
                "{{\"type\":\"{kind}\",\"version\":{VERSION},\"time\":"
            )),
            "`type`, `version`, then `time`: {line}"
        );
        let examples = documented
            .get(&kind)
            .unwrap_or_else(|| panic!("docs/events.md has no example of `{kind}`"));
        assert_eq!(
            examples,
            &BTreeSet::from([fields.clone()]),
            "docs/events.md's `{kind}` examples have other fields than the serializer writes"
        );
        types_written.insert(kind);
    }
    let types: BTreeSet<String> = TYPES.iter().map(|&t| t.to_owned()).collect();
    assert_eq!(types_written, types, "the serializer writes exactly TYPES");
    let examples: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        examples, types,
        "docs/events.md's examples use exactly TYPES"
    );
    let sections: Vec<String> = DOC
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        sections, TYPES,
        "docs/events.md has a section per type, in TYPES' order"
    );
}

#[test]
fn every_line_has_the_version_and_examples_are_what_was_written() {
    for line in doc_lines() {
        let map = object(line);
        let kind = map["type"].as_str().unwrap_or_default();
        assert!(
            line.starts_with(&format!(
                "{{\"type\":\"{kind}\",\"version\":{VERSION},\"time\":"
            )),
            "`type`, `version`, then `time`: {line}"
        );
        assert_eq!(
            map.get("version").and_then(Value::as_u64),
            Some(u64::from(VERSION)),
            "{line}"
        );
        let time = map["time"].as_str().unwrap_or_default();
        assert!(
            crate::time::parse(time).is_some() && time.ends_with('Z'),
            "RFC 3339 in UTC: {line}"
        );
    }
}

#[test]
fn a_line_is_one_flat_object_with_seconds_exits_and_paths_as_documented() {
    let finished = &samples()[5];
    assert_eq!(
        line(finished, &context(), at()),
        concat!(
            r#"{"type":"job_finished","version":1,"time":"2026-11-28T10:00:01.250Z","#,
            r#""job":"train","#,
            r#""status":"Failed","attempts":2,"exit_code":null,"signal":9,"#,
            r#""reason":"killed by signal 9 (SIGKILL)","duration":1.235,"#,
            r#""log":".jupyterflow/runs/r/logs/train.log"}"#,
            "\n"
        )
    );
    // A log outside the working directory stays absolute; a cluster job has none.
    let elsewhere = RunEvent::JobStarted {
        job: "a".into(),
        attempt: 1,
        max_attempts: 1,
        log: Some(PathBuf::from("/var/log/jf/a.log")),
    };
    assert!(line(&elsewhere, &context(), at()).contains(r#""log":"/var/log/jf/a.log""#));
    let started = line(&samples()[0], &context(), at());
    assert!(
        started.contains(r#""backend":"argo","run":"wf","jobs":["prep","train"],"namespace":"jhub","ui_url":"https://argo.example.com/workflows/jhub/wf"}"#),
        "{started}"
    );
    let local = line(&samples()[0], &Context::local(&PathBuf::from("/w")), at());
    assert!(
        local.contains(r#""backend":"local","run":"wf","jobs":["prep","train"],"namespace":null,"ui_url":null}"#),
        "{local}"
    );
    assert!(
        line(&samples()[2], &context(), at()).contains(r#""stream":"stderr","line":"epoch 1""#)
    );
    assert!(line(&samples()[7], &context(), at()).ends_with("\"jobs\":1,\"grace\":10.0}\n"));
}

#[test]
fn text_that_needs_escaping_stays_on_one_line() {
    let event = RunEvent::JobOutput {
        job: "a".into(),
        stream: Stream::Merged,
        line: "tab\there \"quoted\" \u{1b}[31mred\u{1b}[0m back\\slash".into(),
    };
    let text = line(&event, &context(), at());
    assert_eq!(text.matches('\n').count(), 1);
    assert_eq!(
        object(&text)["line"],
        "tab\there \"quoted\" \u{1b}[31mred\u{1b}[0m back\\slash"
    );
    assert_eq!(object(&text)["stream"], "merged");
}

#[test]
fn the_closing_line_sums_up_the_jobs_of_its_stream() {
    let mut writer = Writer::new(Context::local(&PathBuf::from("/w")));
    let finished = |job: &str, phase| RunEvent::JobFinished {
        job: job.into(),
        phase,
        attempts: 1,
        exit: None,
        reason: None,
        duration: Duration::ZERO,
        log: None,
    };
    let mut lines = String::new();
    for event in [
        samples()[0].clone(),
        finished("prep", JobPhase::Succeeded),
        finished("train", JobPhase::Failed),
        finished("eval", JobPhase::Skipped),
        samples()[8].clone(),
    ] {
        lines = writer.line(&event, at());
    }
    assert_eq!(
        lines,
        concat!(
            r#"{"type":"run_finished","version":1,"time":"2026-11-28T10:00:01.250Z","run":"wf","#,
            r#""status":"Failed","duration":2.5,"counts":{"Succeeded":1,"Failed":1,"Skipped":1,"#,
            r#""Cancelled":0,"Interrupted":0},"failed":["train"]}"#,
            "\n"
        )
    );
}
