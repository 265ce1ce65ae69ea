use super::*;
use crate::pipeline::{Axis, CommandTemplate};

fn ok(text: &str) -> Pipeline {
    match parse(text, None) {
        Ok(p) => p,
        Err(e) => panic!("{text:?} did not parse:\n{e}"),
    }
}

/// The errors of `text`, as (column, message).
fn errors(text: &str) -> Vec<(Option<u32>, PipelineErrorKind)> {
    match parse(text, None) {
        Ok(p) => panic!("{text:?} parsed: {p:?}"),
        Err(PipelineErrors(errors)) => errors
            .into_iter()
            .map(|e| {
                assert_eq!(e.source, "-c");
                (e.pos.map(|p| p.column), e.kind)
            })
            .collect(),
    }
}

/// Each job as (text, depends as indices).
fn shape(p: &Pipeline) -> Vec<(&str, Vec<usize>)> {
    p.jobs
        .iter()
        .map(|j| {
            let deps = j
                .depends
                .iter()
                .map(|d| match d {
                    JobRef::Index(i) => *i,
                    JobRef::Name(n) => panic!("named dependency {n}"),
                })
                .collect();
            (j.text.as_str(), deps)
        })
        .collect()
}

fn argv(job: &JobSpec) -> Vec<String> {
    job.command.argv(&[])
}

#[test]
fn single_command() {
    let p = ok("  python hello.py  ");
    assert_eq!(p.name, None);
    assert_eq!(
        p.source,
        Source::CommandLine("  python hello.py  ".to_owned())
    );
    assert_eq!(p.edges, []);
    assert_eq!(p.options, WorkflowOptions::default());
    assert_eq!(shape(&p), [("python hello.py", vec![])]);
    assert_eq!(p.jobs[0].pos, Some(Pos { line: 1, column: 3 }));
    assert_eq!(argv(&p.jobs[0]), ["python", "hello.py"]);
    assert_eq!(p.jobs[0].name, None);
}

#[test]
fn chains_and_groups() {
    type Jobs<'a> = &'a [(&'a str, &'a [usize])];
    let cases: &[(&str, Jobs)] = &[
        ("a >> b >> c", &[("a", &[]), ("b", &[1]), ("c", &[2])]),
        // Report #8: `>>` separates only standing alone; glued, it is the command's own
        // append redirection (which makes it a shell command).
        ("a>>b", &[("a>>b", &[])]),
        (
            "python t.py 2>>err.log >> echo done",
            &[("python t.py 2>>err.log", &[]), ("echo done", &[1])],
        ),
        ("a &>>x >>y >> b", &[("a &>>x >>y", &[]), ("b", &[1])]),
        // The brackets of a group count as blanks next to a separator.
        ("[a, b]>> c", &[("a", &[]), ("b", &[]), ("c", &[1, 2])]),
        ("a >>[b, c]", &[("a", &[]), ("b", &[1]), ("c", &[1])]),
        (
            "[a 2>>e, b] >> c",
            &[("a 2>>e", &[]), ("b", &[]), ("c", &[1, 2])],
        ),
        (
            "a >> [b, c] >> d",
            &[("a", &[]), ("b", &[1]), ("c", &[1]), ("d", &[2, 3])],
        ),
        (
            "[a,b] >> [c , d,e]",
            &[
                ("a", &[]),
                ("b", &[]),
                ("c", &[1, 2]),
                ("d", &[1, 2]),
                ("e", &[1, 2]),
            ],
        ),
        ("[ a ]", &[("a", &[])]),
        // Commas inside a sweep or a nested glob do not split the group.
        (
            "[t {1,2}, ls [ab]*] >> z",
            &[("t {1,2}", &[]), ("ls [ab]*", &[]), ("z", &[1, 2])],
        ),
        // `[` not at the start of a stage is command text (a glob).
        ("ls x[ab] >> y", &[("ls x[ab]", &[]), ("y", &[1])]),
        // Report #16: a group inside a group adds its commands to the stage.
        (
            "a >> [b, [c, d]] >> e",
            &[
                ("a", &[]),
                ("b", &[1]),
                ("c", &[1]),
                ("d", &[1]),
                ("e", &[2, 3, 4]),
            ],
        ),
        ("[[a, [b]], c]", &[("a", &[]), ("b", &[]), ("c", &[])]),
        ("[a, [ -f x ] && y]", &[("a", &[]), ("[ -f x ] && y", &[])]),
        // A stage that starts with `[` but goes on after the `]` is a command (`test`).
        (
            "[ -f x ] && echo y >> z",
            &[("[ -f x ] && echo y", &[]), ("z", &[1])],
        ),
    ];
    for (text, expected) in cases {
        let p = ok(text);
        let expected: Vec<(&str, Vec<usize>)> =
            expected.iter().map(|(t, d)| (*t, d.to_vec())).collect();
        assert_eq!(shape(&p), expected, "text {text:?}");
    }
}

#[test]
fn positions_are_char_columns_of_each_command() {
    let p = ok("é >> [ b,  c ] >>  d");
    let columns: Vec<u32> = p
        .jobs
        .iter()
        .map(|j| j.pos.map_or(0, |p| p.column))
        .collect();
    assert_eq!(columns, [1, 8, 12, 20]);
    assert!(p.jobs.iter().all(|j| j.pos.is_some_and(|p| p.line == 1)));
}

#[test]
fn sweep_example() {
    let p =
        ok("python prep.py >> python train.py --lr {0.1,0.01} --act {relu,tanh} >> python eval.py");
    assert_eq!(
        shape(&p),
        [
            ("python prep.py", vec![]),
            ("python train.py --lr {0.1,0.01} --act {relu,tanh}", vec![1]),
            ("python eval.py", vec![2]),
        ]
    );
    assert_eq!(p.jobs[0].axes, []);
    assert_eq!(
        p.jobs[1].axes,
        [
            Axis {
                key: "p1".to_owned(),
                values: vec!["0.1".to_owned(), "0.01".to_owned()],
            },
            Axis {
                key: "p2".to_owned(),
                values: vec!["relu".to_owned(), "tanh".to_owned()],
            },
        ]
    );
    assert_eq!(
        p.jobs[1].command.argv(&["0.01", "relu"]),
        ["python", "train.py", "--lr", "0.01", "--act", "relu"]
    );
    assert_eq!(p.jobs[2].depends, [JobRef::Index(2)]);
}

#[test]
fn quoted_and_escaped_syntax_is_literal() {
    let p = ok(r#"echo '>>' >> echo "[a, b]""#);
    assert_eq!(
        shape(&p),
        [("echo '>>'", vec![]), (r#"echo "[a, b]""#, vec![1])]
    );
    assert_eq!(argv(&p.jobs[0]), ["echo", ">>"]);
    assert_eq!(argv(&p.jobs[1]), ["echo", "[a, b]"]);

    let p = ok(r#"[echo ',', echo "]" ] >> echo a\>>b"#);
    assert_eq!(argv(&p.jobs[0]), ["echo", ","]);
    assert_eq!(argv(&p.jobs[1]), ["echo", "]"]);
    assert_eq!(p.jobs.len(), 3);
    assert_eq!(p.jobs[2].text, r"echo a\>>b");
    assert_eq!(
        p.jobs[2].command.mode(),
        CommandMode::Shell,
        "`>b` is a redirection"
    );

    let p = ok(r"echo \[a, b] >> x");
    assert_eq!(argv(&p.jobs[0]), ["echo", "[a,", "b]"]);
}

#[test]
fn shell_detection_is_per_command() {
    let p = ok("cat a | wc -l >> echo done");
    assert_eq!(
        p.jobs[0].command,
        CommandTemplate::Shell(vec![crate::pipeline::Segment::Text(
            "cat a | wc -l".to_owned()
        )])
    );
    assert_eq!(argv(&p.jobs[1]), ["echo", "done"]);

    let p = parse("echo a >> echo b", Some(CommandMode::Shell)).expect("parses");
    assert!(
        p.jobs
            .iter()
            .all(|j| j.command.mode() == CommandMode::Shell)
    );
    assert_eq!(argv(&p.jobs[1]), ["/bin/sh", "-c", "echo b"]);
}

fn syntax(column: u32, message: &str) -> (Option<u32>, PipelineErrorKind) {
    (Some(column), PipelineErrorKind::Syntax(message.to_owned()))
}

#[test]
fn empty_input() {
    for text in ["", "   ", "\n\t"] {
        assert_eq!(errors(text), [(None, PipelineErrorKind::EmptyPipeline)]);
    }
}

#[test]
fn empty_stages_and_groups() {
    let cases: &[(&str, &[(u32, &str)])] = &[
        (
            "a >> >> b",
            &[(
                6,
                "stage 2 of 3 is empty (nothing between two `>>`); put a command there or remove the extra `>>`",
            )],
        ),
        (
            ">> a",
            &[(
                1,
                "stage 1 of 2 is empty (nothing before the first `>>`); put a command there or remove the extra `>>`",
            )],
        ),
        (
            "a >>  ",
            &[(
                3,
                "stage 2 of 2 is empty (nothing after the last `>>`); put a command there or remove the extra `>>`",
            )],
        ),
        (
            "a >> []",
            &[(
                6,
                "the group in stage 2 is empty; list commands to run in parallel, e.g. `[python a.py, python b.py]`",
            )],
        ),
        (
            "[a, ] >> b",
            &[(
                3,
                "command 2 of 2 in the group of stage 1 is empty; remove the trailing comma",
            )],
        ),
        (
            "[a,,b]",
            &[(
                3,
                "command 2 of 3 in the group of stage 1 is empty; remove the extra comma",
            )],
        ),
    ];
    for (text, expected) in cases {
        let expected: Vec<_> = expected.iter().map(|(c, m)| syntax(*c, m)).collect();
        assert_eq!(errors(text), expected, "text {text:?}");
    }
}

#[test]
fn malformed_syntax_reports_columns() {
    let cases: &[(&str, &[(u32, &str)])] = &[
        (
            "a >> [b, c >> d",
            &[(
                6,
                "unclosed `[` in stage 2; end the group with `]`, e.g. `a >> [b, c] >> d` (quote `'['` to pass it to a command)",
            )],
        ),
        (
            "[a >> b, c]",
            &[(
                4,
                "`>>` inside the `[…]` group of stage 1; a group holds commands that run in parallel, so chain outside it, e.g. `a >> [b, c] >> d`",
            )],
        ),
        (
            "a >> echo 'oops >> b",
            &[(
                11,
                "unclosed ' quote; close it, or escape it with a backslash to pass it literally",
            )],
        ),
        (
            "a >> t --lr {0.1,0.01 >> b",
            &[(
                13,
                "unclosed `{` sweep; close it with `}`, e.g. `--lr {0.1,0.01}`, or quote it to pass it literally",
            )],
        ),
        (
            "é >> t --lr {0.1, 0.01}",
            &[(
                13,
                "a `{…}` sweep cannot hold blanks; write the values without spaces, e.g. `{0.1,0.01}`, or quote the braces to pass them literally",
            )],
        ),
        (
            "a >>> b",
            &[(
                3,
                "`>>>` is not a stage separator; use `>>` (quote `'>>>'` to pass it to a command)",
            )],
        ),
        // Report #16/#17: stray `]`, groups side by side, nested and empty sweep values.
        (
            "a >> b] >> d",
            &[(
                7,
                "a `]` with no `[` before it; remove it, or quote it (`']'`) to pass it to a command",
            )],
        ),
        (
            "a >> [b][c]",
            &[(
                9,
                "two groups side by side in stage 2; put `>>` between them to run one after the other (`[a, b] >> [c, d]`), or make them one group (`[a, b, c, d]`)",
            )],
        ),
        (
            "[a, [b, c] d]",
            &[(
                11,
                "text after the `]` of the group in stage 1; a group is a whole stage: end it with `]` and put `>>` after it, e.g. `a >> [b, c] >> d`",
            )],
        ),
        (
            "é >> echo {a,{b,c}}",
            &[(
                14,
                "a `{…}` sweep inside another; list every value in one sweep, e.g. `{a,b,c}`, or quote the inner braces to pass them literally",
            )],
        ),
        (
            "echo {,}",
            &[(
                6,
                "a `{…}` sweep with an empty value (it would make an empty or a repeated job); remove the extra comma, or write `''` for an empty value",
            )],
        ),
        (
            "echo {a,b,}",
            &[(
                6,
                "a `{…}` sweep with an empty value (it would make an empty or a repeated job); remove the extra comma, or write `''` for an empty value",
            )],
        ),
        (
            "a>>>b",
            &[(
                2,
                "`>>>` is not a stage separator; use `>>` (quote `'>>>'` to pass it to a command)",
            )],
        ),
    ];
    for (text, expected) in cases {
        let expected: Vec<_> = expected.iter().map(|(c, m)| syntax(*c, m)).collect();
        assert_eq!(errors(text), expected, "text {text:?}");
    }
}

#[test]
fn all_errors_are_reported() {
    let found = errors(">> [] >> t {a,b >> [x,] >> ok >> echo \"");
    let columns: Vec<Option<u32>> = found.iter().map(|e| e.0).collect();
    assert_eq!(columns, [Some(1), Some(4), Some(12), Some(22), Some(39)]);
}

#[test]
fn braces_that_are_shell_syntax_are_allowed() {
    let p = ok("echo ${HOME} >> find . -name x -exec rm {} ;");
    assert!(p.jobs.iter().all(|j| j.axes.is_empty()));
    assert!(
        p.jobs
            .iter()
            .all(|j| j.command.mode() == CommandMode::Shell)
    );
}

#[test]
fn snapshot_group_pipeline() {
    insta::assert_debug_snapshot!(ok(
        "python prep.py >> [python a.py --x {1,2}, cat log | wc -l] >> python eval.py"
    ));
}

#[test]
fn snapshot_errors() {
    let text = "a >> >> [b, ] >> echo 'x";
    let rendered = match parse(text, None) {
        Ok(p) => panic!("parsed: {p:?}"),
        Err(e) => e.to_string(),
    };
    insta::assert_snapshot!(rendered);
}

#[test]
fn text_after_a_group_is_an_error_but_a_test_command_is_not() {
    let errs = errors("echo a >> [echo b, echo c] -v >> echo d");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(27));
    assert!(
        matches!(&errs[0].1, PipelineErrorKind::Syntax(m) if m.contains("text after the `]`")),
        "{errs:?}"
    );
    let p = ok("[ -f x ] && echo y >> echo d");
    assert_eq!(p.jobs.len(), 2);
    assert_eq!(p.jobs[0].text, "[ -f x ] && echo y");
}
