//! Tests for command tokenising, shell detection, sweep placeholders and rendering.
use super::*;

use proptest::prelude::*;

const PLAIN: Placeholders<'static> = Placeholders {
    braces: false,
    keys: &[],
    params: &[],
};
const BRACES: Placeholders<'static> = Placeholders {
    braces: true,
    keys: &[],
    params: &[],
};

fn text(s: &str) -> Segment {
    Segment::Text(s.to_owned())
}

fn word(segments: &[Segment]) -> Word {
    Word(segments.to_vec())
}

fn axis(key: &str, values: &[&str]) -> Axis {
    Axis {
        key: key.to_owned(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn parse_ok(input: &str, mode: Option<CommandMode>, placeholders: Placeholders<'_>) -> Parsed {
    match parse(input, mode, placeholders) {
        Ok(parsed) => parsed,
        Err(e) => panic!("{input:?} did not parse: {e}"),
    }
}

/// The argv of `input` parsed in auto mode, which must pick exec.
fn exec_argv(input: &str) -> Vec<String> {
    let parsed = parse_ok(input, None, PLAIN);
    assert_eq!(
        parsed.template.mode(),
        CommandMode::Exec,
        "{input:?} was taken for shell: {:?}",
        parsed.shell_reason
    );
    assert_eq!(parsed.shell_reason, None);
    parsed.template.argv(&[])
}

#[test]
fn exec_words_follow_posix_quoting() {
    let cases: &[(&str, &[&str])] = &[
        ("echo hello", &["echo", "hello"]),
        ("  echo   a\tb  c  ", &["echo", "a", "b", "c"]),
        ("''{a}", &["{a}"]),
        // The original tool split on spaces; a quoted argument must stay one word.
        ("echo 'good bye'", &["echo", "good bye"]),
        (r#"echo "good bye""#, &["echo", "good bye"]),
        (r#"echo "a \"b\" c""#, &["echo", "a \"b\" c"]),
        ("echo ''", &["echo", ""]),
        (r#"echo """#, &["echo", ""]),
        ("echo '' x", &["echo", "", "x"]),
        ("echo a''b", &["echo", "ab"]),
        (r#"echo 'a'"b"c"#, &["echo", "abc"]),
        (r"echo a\ b", &["echo", "a b"]),
        (r"echo \'x\'", &["echo", "'x'"]),
        (r#"echo \"x"#, &["echo", "\"x"]),
        (r"echo a\\b", &["echo", r"a\b"]),
        (r"echo \|", &["echo", "|"]),
        (r"echo \$HOME", &["echo", "$HOME"]),
        ("echo a\\\nb", &["echo", "ab"]),
        // In single quotes a backslash is literal; in double quotes it only escapes " \ $ `.
        (r"echo 'a\nb\'", &["echo", r"a\nb\"]),
        (r#"echo "a\nb\\c\$d\`e""#, &["echo", r"a\nb\c$d`e"]),
        ("echo 'a\nb'", &["echo", "a\nb"]),
        (
            "python train.py --lr=0.1",
            &["python", "train.py", "--lr=0.1"],
        ),
        ("echo é 'ü ö'", &["echo", "é", "ü ö"]),
        ("echo a#b", &["echo", "a#b"]),
        ("echo {a}", &["echo", "{a}"]),
        ("echo a\n", &["echo", "a"]),
    ];
    for (input, expected) in cases {
        assert_eq!(exec_argv(input), *expected, "input {input:?}");
    }
}

#[test]
fn shell_syntax_is_detected_in_auto_mode() {
    let cases: &[(&str, &str)] = &[
        ("cat a | wc -l", "`|`"),
        ("make && make install", "`&`"),
        ("false || true", "`|`"),
        ("cd /tmp; ls", "`;`"),
        ("echo hi > out.txt", "a redirection"),
        ("wc -l < in.txt", "a redirection"),
        ("echo $HOME", "`$` expansion"),
        ("echo ${HOME}", "`$` expansion"),
        ("echo $(date)", "`$` expansion"),
        ("echo `date`", "backticks"),
        ("ls *.csv", "a glob"),
        ("ls data?.csv", "a glob"),
        ("ls [ab].csv", "a glob"),
        ("FOO=1 python t.py", "a variable assignment"),
        ("_X1=a cmd", "a variable assignment"),
        (r#"echo "$HOME""#, "`$` expansion"),
        (r#"echo "`date`""#, "backticks"),
        ("sleep 1 &", "`&`"),
        ("(cd x)", "parentheses"),
        ("ls ~/data", "`~`"),
        ("echo a # comment", "a comment"),
        ("! grep x f", "`!`"),
        ("echo a\necho b", "a line break between commands"),
    ];
    for (input, reason) in cases {
        let parsed = parse_ok(input, None, PLAIN);
        assert_eq!(
            parsed.template,
            CommandTemplate::Shell(vec![text(input)]),
            "input {input:?}"
        );
        assert_eq!(
            parsed.shell_reason.as_deref(),
            Some(*reason),
            "input {input:?}"
        );
        assert_eq!(
            parsed.template.argv(&[]),
            ["/bin/sh", "-c", input],
            "input {input:?}"
        );
    }
}

#[test]
fn quoted_or_harmless_shell_characters_stay_exec() {
    let cases: &[(&str, &[&str])] = &[
        ("echo 'a|b'", &["echo", "a|b"]),
        (
            r#"echo "a && b; c > d < e * ? [""#,
            &["echo", "a && b; c > d < e * ? ["],
        ),
        ("echo '$HOME'", &["echo", "$HOME"]),
        (r#"echo "\$HOME""#, &["echo", "$HOME"]),
        ("echo '#'", &["echo", "#"]),
        ("echo a~b", &["echo", "a~b"]),
        ("echo a!", &["echo", "a!"]),
        // Only a leading NAME= is an assignment.
        ("python t.py --lr=0.1", &["python", "t.py", "--lr=0.1"]),
        ("./a=b x", &["./a=b", "x"]),
        ("=x y", &["=x", "y"]),
        // A trailing line break (YAML `|` blocks end with one) is not a second command.
        ("echo a\n\n", &["echo", "a"]),
        ("\n echo a", &["echo", "a"]),
    ];
    for (input, expected) in cases {
        assert_eq!(exec_argv(input), *expected, "input {input:?}");
    }
}

#[test]
fn forced_modes_override_detection() {
    let parsed = parse_ok("echo a|b", Some(CommandMode::Exec), PLAIN);
    assert_eq!(parsed.template.argv(&[]), ["echo", "a|b"]);
    assert_eq!(
        parsed.shell_reason, None,
        "a forced mode has no detected reason"
    );

    let parsed = parse_ok("FOO=1 env", Some(CommandMode::Exec), PLAIN);
    assert_eq!(parsed.template.argv(&[]), ["FOO=1", "env"]);

    for input in [
        "python t.py",
        "echo 'a  b'  \"c\" \\d",
        "  lead  and trail  ",
    ] {
        let parsed = parse_ok(input, Some(CommandMode::Shell), PLAIN);
        assert_eq!(
            parsed.template,
            CommandTemplate::Shell(vec![text(input)]),
            "shell mode keeps {input:?} as written"
        );
        assert_eq!(parsed.shell_reason, None);
        assert_eq!(parsed.template.argv(&[]), ["/bin/sh", "-c", input]);
        assert_eq!(parsed.template.shell_text(&|_| String::new()), input);
    }
}

#[test]
fn errors_report_the_byte_offset() {
    let cases: &[(&str, CommandError)] = &[
        ("", CommandError::Empty),
        ("   \n\t", CommandError::Empty),
        ("\\\n", CommandError::Empty),
        (
            "echo 'abc",
            CommandError::UnclosedQuote {
                quote: '\'',
                offset: 5,
            },
        ),
        (
            "echo \"abc\\\"",
            CommandError::UnclosedQuote {
                quote: '"',
                offset: 5,
            },
        ),
        (
            "echo 'ok' \"x",
            CommandError::UnclosedQuote {
                quote: '"',
                offset: 10,
            },
        ),
        // Byte offset, not char index: `é` is two bytes.
        (
            "é 'x",
            CommandError::UnclosedQuote {
                quote: '\'',
                offset: 3,
            },
        ),
        (
            "t --lr {0.1,0.01",
            CommandError::UnclosedBrace { offset: 7 },
        ),
        (
            "t {'a,b}",
            CommandError::UnclosedQuote {
                quote: '\'',
                offset: 3,
            },
        ),
        // Report #17: nested sweeps and empty values are refused.
        ("t {a,{b,c}}", CommandError::NestedBrace { offset: 5 }),
        ("t {{b,c},a}", CommandError::NestedBrace { offset: 3 }),
        ("t {a,{b}}", CommandError::NestedBrace { offset: 5 }),
        ("t {a,}", CommandError::EmptySweepValue { offset: 2 }),
        ("t {,}", CommandError::EmptySweepValue { offset: 2 }),
        ("t {a,,b}", CommandError::EmptySweepValue { offset: 2 }),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse(input, None, BRACES).as_ref().err(),
            Some(expected),
            "input {input:?}"
        );
    }
}

#[test]
fn brace_sweeps_create_axes() {
    let parsed = parse_ok(
        "python train.py --lr {0.1,0.01} --act {relu,tanh}",
        None,
        BRACES,
    );
    assert_eq!(
        parsed.new_axes,
        [axis("p1", &["0.1", "0.01"]), axis("p2", &["relu", "tanh"])]
    );
    assert_eq!(parsed.shell_reason, None);
    assert_eq!(
        parsed.template,
        CommandTemplate::Exec(vec![
            word(&[text("python")]),
            word(&[text("train.py")]),
            word(&[text("--lr")]),
            word(&[Segment::Param(0)]),
            word(&[text("--act")]),
            word(&[Segment::Param(1)]),
        ])
    );
    assert_eq!(
        parsed.template.argv(&["0.01", "tanh"]),
        ["python", "train.py", "--lr", "0.01", "--act", "tanh"]
    );
    assert_eq!(
        parsed.template.display(&parsed.new_axes),
        "python train.py --lr {0.1,0.01} --act {relu,tanh}"
    );
}

#[test]
fn brace_sweep_inside_a_word() {
    let parsed = parse_ok("t --lr={0.1,0.01}x", None, BRACES);
    assert_eq!(
        parsed.template,
        CommandTemplate::Exec(vec![
            word(&[text("t")]),
            word(&[text("--lr="), Segment::Param(0), text("x")]),
        ])
    );
    assert_eq!(parsed.template.argv(&["0.1"]), ["t", "--lr=0.1x"]);
}

#[test]
fn brace_sweep_values_may_be_quoted_or_empty() {
    let cases: &[(&str, &[&str])] = &[
        ("t {'a b',c}", &["a b", "c"]),
        (r#"t {"x\"y",z}"#, &["x\"y", "z"]),
        ("t {'}',b}", &["}", "b"]),
        // An empty value is written out (`{a,}` is refused: see `errors_report_the_byte_offset`).
        ("t {a,''}", &["a", ""]),
        ("t {\"\",b}", &["", "b"]),
        ("t {a,b,c,d}", &["a", "b", "c", "d"]),
    ];
    for (input, values) in cases {
        let parsed = parse_ok(input, None, BRACES);
        assert_eq!(parsed.new_axes, [axis("p1", values)], "input {input:?}");
    }
}

#[test]
fn braces_that_are_not_sweeps_stay_literal() {
    let cases: &[(&str, &[&str])] = &[
        ("echo {a}", &["echo", "{a}"]),
        ("echo {}", &["echo", "{}"]),
        ("echo '{a,b}'", &["echo", "{a,b}"]),
        (r#"echo "{a,b}""#, &["echo", "{a,b}"]),
        (r"echo \{a,b}", &["echo", "{a,b}"]),
        // Like bash: a blank inside the braces makes them literal.
        ("echo {a, b}", &["echo", "{a,", "b}"]),
        ("echo {a", &["echo", "{a"]),
        // No top-level comma: the outer braces are text, as in bash; the inner one sweeps.
        ("echo {a{b}}", &["echo", "{a{b}}"]),
        ("echo }", &["echo", "}"]),
    ];
    for (input, expected) in cases {
        let parsed = parse_ok(input, None, BRACES);
        assert_eq!(parsed.new_axes, [], "input {input:?}");
        assert_eq!(parsed.template.argv(&[]), *expected, "input {input:?}");
    }
    // Without `braces` (workflow.yaml) a comma list is just text.
    let parsed = parse_ok("echo {a,b}", None, PLAIN);
    assert_eq!(parsed.new_axes, []);
    assert_eq!(parsed.template.argv(&[]), ["echo", "{a,b}"]);
}

#[test]
fn dollar_brace_is_shell_expansion_not_a_sweep_or_key() {
    let keys = [axis("HOME", &["x"])];
    for placeholders in [
        BRACES,
        Placeholders {
            braces: true,
            keys: &keys,
            params: &[],
        },
    ] {
        let input = "echo ${HOME} ${a,b}";
        let parsed = parse_ok(input, None, placeholders);
        assert_eq!(parsed.new_axes, []);
        assert_eq!(parsed.template, CommandTemplate::Shell(vec![text(input)]));
    }
}

#[test]
fn brace_sweep_in_shell_mode_is_a_quoted_param() {
    let parsed = parse_ok("cat {a b,c} | wc", None, BRACES);
    assert_eq!(parsed.new_axes, [], "blank inside: literal braces");

    let parsed = parse_ok("cat {'a b',c} | wc -l", None, BRACES);
    assert_eq!(parsed.shell_reason.as_deref(), Some("`|`"));
    assert_eq!(
        parsed.template,
        CommandTemplate::Shell(vec![text("cat "), Segment::Param(0), text(" | wc -l")])
    );
    assert_eq!(
        parsed.template.argv(&["a b"]),
        ["/bin/sh", "-c", "cat 'a b' | wc -l"]
    );
    assert_eq!(
        parsed.template.display(&parsed.new_axes),
        "cat {a b,c} | wc -l"
    );
}

#[test]
fn matrix_keys_become_params() {
    let keys = [axis("lr", &["0.1", "0.01"]), axis("act", &["relu"])];
    let with_keys = Placeholders {
        braces: false,
        keys: &keys,
        params: &[],
    };
    let cases: &[(&str, Vec<Word>)] = &[
        (
            "python t.py --lr {lr}",
            vec![
                word(&[text("python")]),
                word(&[text("t.py")]),
                word(&[text("--lr")]),
                word(&[Segment::Param(0)]),
            ],
        ),
        (
            "t '--name={lr}'",
            vec![
                word(&[text("t")]),
                word(&[text("--name="), Segment::Param(0)]),
            ],
        ),
        (
            r#"t "{act}-{lr}.log""#,
            vec![
                word(&[text("t")]),
                word(&[
                    Segment::Param(1),
                    text("-"),
                    Segment::Param(0),
                    text(".log"),
                ]),
            ],
        ),
        (
            "t --lr={lr}",
            vec![
                word(&[text("t")]),
                word(&[text("--lr="), Segment::Param(0)]),
            ],
        ),
        (
            "t {x} '{x}' {lr",
            vec![
                word(&[text("t")]),
                word(&[text("{x}")]),
                word(&[text("{x}")]),
                word(&[text("{lr")]),
            ],
        ),
    ];
    for (input, words) in cases {
        let parsed = parse_ok(input, None, with_keys);
        assert_eq!(parsed.new_axes, [], "input {input:?}");
        assert_eq!(
            parsed.template,
            CommandTemplate::Exec(words.clone()),
            "input {input:?}"
        );
    }
    let parsed = parse_ok("t '--name={lr}'", None, with_keys);
    assert_eq!(parsed.template.argv(&["0.1"]), ["t", "--name=0.1"]);
    assert_eq!(parsed.template.display(&keys), "t --name={lr}");
}

#[test]
fn brace_sweep_params_come_after_matrix_keys() {
    let keys = [axis("lr", &["0.1"])];
    let parsed = parse_ok(
        "t {lr} {a,b}",
        None,
        Placeholders {
            braces: true,
            keys: &keys,
            params: &[],
        },
    );
    assert_eq!(parsed.new_axes, [axis("p1", &["a", "b"])]);
    assert_eq!(parsed.template.argv(&["0.1", "b"]), ["t", "0.1", "b"]);
}

#[test]
fn quote_leaves_safe_words_bare() {
    let cases: &[(&str, &str)] = &[
        ("abc", "abc"),
        ("--lr=0.1", "--lr=0.1"),
        ("a/b.c,d:e@f%g+h_i", "a/b.c,d:e@f%g+h_i"),
        ("", "''"),
        ("a b", "'a b'"),
        ("it's", r"'it'\''s'"),
        ("$HOME", "'$HOME'"),
        ("~", "'~'"),
        ("#", "'#'"),
        ("{a,b}", "'{a,b}'"),
        ("é", "'é'"),
        ("a\nb", "'a\nb'"),
    ];
    for (input, expected) in cases {
        assert_eq!(quote(input), *expected, "input {input:?}");
    }
}

#[test]
fn shell_text_of_exec_templates() {
    let cases: &[(&str, &str)] = &[
        ("python t.py --lr 0.1", "exec python t.py --lr 0.1"),
        ("echo 'good bye' ''", "exec echo 'good bye' ''"),
        // A leading NAME=x would be an assignment if it were not quoted.
        ("FOO=1 env", "exec 'FOO=1' env"),
        ("env FOO=1", "exec env FOO=1"),
    ];
    for (input, expected) in cases {
        let parsed = parse_ok(input, Some(CommandMode::Exec), BRACES);
        assert_eq!(
            parsed.template.shell_text(&|_| String::new()),
            *expected,
            "input {input:?}"
        );
    }
    let parsed = parse_ok("t --lr={0.1,0.01}", None, BRACES);
    assert_eq!(
        parsed.template.shell_text(&|n| format!("\"$P{n}\"")),
        "exec t --lr=\"$P0\""
    );
}

#[test]
fn display_shows_placeholders() {
    let keys = [axis("lr", &["0.1"])];
    let parsed = parse_ok(
        "python t.py 'a b' {lr} --x={a,b}",
        None,
        Placeholders {
            braces: true,
            keys: &keys,
            params: &[],
        },
    );
    let mut axes = keys.to_vec();
    axes.extend(parsed.new_axes.clone());
    assert_eq!(
        parsed.template.display(&axes),
        "python t.py 'a b' {lr} --x={a,b}"
    );
}

/// Tricky argument values: both quote kinds, backslashes, line breaks, expansions, blanks,
/// comment and YAML-looking text, JSON, non-ASCII.
const TRICKY: &[&str] = &[
    "plain",
    "",
    "good bye",
    "it's",
    r#"say "hi""#,
    r#"'both' "kinds""#,
    r"back\slash\\ and \n",
    "trailing backslash\\",
    "line\nbreak\n",
    "$HOME",
    "${HOME} $(id) `id`",
    "  lead and trail  ",
    "#not a comment",
    "key: value",
    r#"{"lr": [0.1, 0.01], "name": "a b"}"#,
    "*.csv ? [a]",
    "a;b|c&d>e<f",
    "~",
    "--lr=0.1",
    "é ü 日本",
    "tab\there",
    "{lr}",
    "%s %d",
];

#[cfg(unix)]
fn run_argv(argv: &[String]) -> Vec<u8> {
    let output = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .expect("run the command");
    assert!(output.status.success(), "{argv:?} failed: {output:?}");
    output.stdout
}

#[cfg(unix)]
fn run_sh(text: &str) -> Vec<u8> {
    run_argv(&["/bin/sh".to_owned(), "-c".to_owned(), text.to_owned()])
}

#[cfg(unix)]
#[test]
fn shell_text_reproduces_exact_bytes_in_sh() {
    for value in TRICKY {
        // As literal text of the command...
        let input = format!("printf %s {}", quote(value));
        let parsed = parse_ok(&input, Some(CommandMode::Exec), BRACES);
        let text = parsed.template.shell_text(&|_| String::new());
        assert_eq!(
            run_sh(&text),
            value.as_bytes(),
            "value {value:?} via {text:?}"
        );

        // ...and as a sweep value filled into a placeholder.
        let parsed = parse_ok("printf %s {x,y}", None, BRACES);
        let text = parsed.template.shell_text(&|_| quote(value));
        assert_eq!(
            run_sh(&text),
            value.as_bytes(),
            "value {value:?} via {text:?}"
        );
    }
}

/// What a test command prints for a value.
#[cfg(unix)]
type Expected = fn(&str) -> String;

#[cfg(unix)]
#[test]
fn shell_argv_fills_params_with_exact_bytes() {
    let keys = [axis("k", &["unused"])];
    let with_keys = Placeholders {
        braces: true,
        keys: &keys,
        params: &[],
    };
    // (command, what it prints for value v)
    let cases: &[(&str, Expected)] = &[
        ("printf %s {k} | cat", |v| v.to_owned()),
        ("printf %s '{k}' | cat", |v| v.to_owned()),
        ("printf %s \"{k}\" | cat", |v| v.to_owned()),
        ("printf %s '<{k}>' | cat", |v| format!("<{v}>")),
        ("printf %s \"$0<{k}>{k}\" | cat", |v| format!("sh<{v}>{v}")),
        ("printf %s \"\\{k}\" | cat", |v| format!("\\{v}")),
        ("printf %s \"\\\\{k}\" | cat", |v| format!("\\{v}")),
        ("printf %s x{k}y | cat", |v| format!("x{v}y")),
        ("printf %s {k}{a,b} | cat", |v| format!("{v}{v}")),
    ];
    for (input, expected) in cases {
        let parsed = parse_ok(input, None, with_keys);
        assert_eq!(
            parsed.template.mode(),
            CommandMode::Shell,
            "input {input:?}"
        );
        for value in TRICKY {
            let argv = parsed.template.argv(&[value, value]);
            let mut argv0 = argv.clone();
            // `$0` of `sh -c` is the next argument; make it predictable.
            argv0.push("sh".to_owned());
            assert_eq!(
                String::from_utf8_lossy(&run_argv(&argv0)),
                expected(value),
                "input {input:?} value {value:?} argv {argv:?}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn exec_argv_matches_what_sh_would_do() {
    // For commands we run without a shell, sh must agree on the words.
    let inputs = [
        "printf %s/  'good bye' \"a \\\"b\\\" c\" a\\ b '' x''y \"\\$\\\\\"",
        "printf %s/  é 'a\nb' \"tab\there\" a\\\\b",
    ];
    for input in inputs {
        let argv = exec_argv(input);
        let ours: Vec<u8> = argv[2..]
            .iter()
            .flat_map(|a| format!("{a}/").into_bytes())
            .collect();
        assert_eq!(run_sh(input), ours, "input {input:?}");
    }
}

/// Characters that stress quoting, mixed with arbitrary ones (never NUL: argv cannot hold it).
fn arg_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '\'', '"', '\\', ' ', '\t', '\n', '$', '`', '{', '}', ',', '|', '&', ';', '<', '>',
            '*', '?', '[', ']', '=', '#', '~', '!', '(', ')', 'a', 'Z', '0', '-', '.', '/', 'é',
        ]),
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
    ]
}

fn arg() -> impl Strategy<Value = String> {
    prop::collection::vec(arg_char(), 0..12).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn quoted_argv_round_trips(argv in prop::collection::vec(arg(), 1..6), braces in any::<bool>()) {
        // The first word as `shell_text` writes it, so a bare `A=b` is not an assignment.
        let joined = argv
            .iter()
            .enumerate()
            .map(|(i, a)| if i == 0 { quote_program(a) } else { quote(a) })
            .collect::<Vec<_>>()
            .join(" ");
        let placeholders = Placeholders {
            braces,
            keys: &[],
            params: &[],
        };
        let parsed = parse(&joined, Some(CommandMode::Exec), placeholders);
        prop_assert_eq!(parsed.as_ref().map(|p| p.new_axes.len()).ok(), Some(0));
        let back = parsed.map(|p| p.template.argv(&[])).ok();
        prop_assert_eq!(back, Some(argv.clone()), "joined: {:?}", joined);
        // Quoted words hold no shell syntax, so auto mode agrees.
        let auto = parse(&joined, None, placeholders).map(|p| p.template.mode()).ok();
        prop_assert_eq!(auto, Some(CommandMode::Exec), "joined: {:?}", joined);
    }

    /// The length the argument check measures is the length of the text a job's shell gets.
    #[test]
    fn shell_text_len_is_the_length_of_shell_text(
        argv in prop::collection::vec(arg(), 1..6),
        values in prop::collection::vec(arg(), 1..3),
    ) {
        let words: Vec<Word> = argv
            .iter()
            .enumerate()
            .map(|(i, a)| match i % 3 {
                // Every third word carries a placeholder glued to text.
                2 => Word(vec![Segment::Text(a.clone()), Segment::Param(i % values.len())]),
                _ => Word(vec![Segment::Text(a.clone())]),
            })
            .collect();
        let shell: Vec<Segment> = argv
            .iter()
            .enumerate()
            .flat_map(|(i, a)| [Segment::Text(a.clone()), Segment::Param(i % values.len())])
            .collect();
        let value = |n: usize| quote(&values[n]);
        for command in [CommandTemplate::Exec(words), CommandTemplate::Shell(shell)] {
            prop_assert_eq!(
                command.shell_text_len(&|n| quoted_len(&values[n])),
                command.shell_text(&value).len()
            );
        }
        for a in &argv {
            prop_assert_eq!(quoted_len(a), quote(a).len());
            prop_assert_eq!(quoted_program_len(a), quote_program(a).len());
        }
    }
}
