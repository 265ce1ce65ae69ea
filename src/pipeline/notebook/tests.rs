//! Tests for notebook parameter injection (byte-exact splicing, layout, replacement, ids),
//! `-p` typing and Python literals (checked with a real python3), the parameters-cell scanner,
//! kernel name, error extraction, and the messages for files that are not notebooks.

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::*;

const WITH_PARAMETERS: &str =
    include_str!("../../../tests/fixtures/notebooks/with_parameters.ipynb");
const NO_PARAMETERS: &str = include_str!("../../../tests/fixtures/notebooks/no_parameters.ipynb");
const IDS_4_5: &str = include_str!("../../../tests/fixtures/notebooks/ids_nbformat_4_5.ipynb");
const SOURCE_AS_STRING: &str =
    include_str!("../../../tests/fixtures/notebooks/source_as_string.ipynb");
const PAPERMILL_EXECUTED: &str =
    include_str!("../../../tests/fixtures/notebooks/papermill_executed.ipynb");
const EXECUTED_ERROR: &str = include_str!("../../../tests/fixtures/notebooks/executed_error.ipynb");
/// `fails.ipynb` with `divisor = 0` injected, as papermill 2.7 left it: two marker cells added.
const PAPERMILL_FAILED: &str =
    include_str!("../../../tests/fixtures/notebooks/papermill_failed.ipynb");

const ALL: [(&str, &str); 6] = [
    ("with_parameters", WITH_PARAMETERS),
    ("no_parameters", NO_PARAMETERS),
    ("ids_4_5", IDS_4_5),
    ("source_as_string", SOURCE_AS_STRING),
    ("papermill_executed", PAPERMILL_EXECUTED),
    ("executed_error", EXECUTED_ERROR),
];

fn params(pairs: &[(&str, &str)]) -> Vec<Param> {
    pairs
        .iter()
        .map(|(name, value)| Param::from_cli(name, value))
        .collect()
}

/// The text of each cell, as found in `text`.
fn cell_texts(text: &str) -> Vec<&str> {
    read(text)
        .expect("a notebook")
        .cells
        .iter()
        .map(|c| &text[c.span.clone()])
        .collect()
}

fn cell_spans(text: &str) -> Vec<Range<usize>> {
    read(text)
        .expect("a notebook")
        .cells
        .into_iter()
        .map(|c| c.span)
        .collect()
}

fn cells_json(text: &str) -> Vec<Value> {
    let nb: Value = serde_json::from_str(text).expect("valid JSON");
    nb["cells"].as_array().expect("cells").clone()
}

fn tags(cell: &Value) -> Vec<&str> {
    cell["metadata"]["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn source(cell: &Value) -> String {
    match &cell["source"] {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// `after` is `before` plus one new cell at `index` and one comma and separator next to it:
/// removing those bytes gives `before` back exactly.
fn assert_one_cell_added(before: &str, after: &str, index: usize) {
    let spans = cell_spans(after);
    assert_eq!(spans.len(), cell_spans(before).len() + 1);
    let new = &spans[index];
    let with_previous = index
        .checked_sub(1)
        .map(|p| format!("{}{}", &after[..spans[p].end], &after[new.end..]));
    let with_next = spans
        .get(index + 1)
        .map(|next| format!("{}{}", &after[..new.start], &after[next.start..]));
    assert!(
        with_previous.as_deref() == Some(before) || with_next.as_deref() == Some(before),
        "removing the new cell does not give the original back"
    );
    // The same, seen cell by cell: every original cell's bytes, unchanged and in order.
    let mut kept = cell_texts(after);
    kept.remove(index);
    assert_eq!(kept, cell_texts(before));
}

fn injected_text(after: &str, index: usize) -> &str {
    &after[cell_spans(after)[index].clone()]
}

// ---- injection ----

#[test]
fn without_parameters_the_text_comes_back_byte_for_byte() {
    for (name, nb) in ALL {
        if name == "papermill_executed" {
            continue;
        }
        let out = inject_parameters(nb, &[], "note").expect(name);
        assert_eq!(out, nb, "{name}");
    }
}

#[test]
fn the_cell_goes_right_after_the_parameters_cell() {
    let after = inject_parameters(
        WITH_PARAMETERS,
        &params(&[("epochs", "3"), ("learning_rate", "1e-3")]),
        "",
    )
    .expect("inject");
    assert_one_cell_added(WITH_PARAMETERS, &after, 3);
    let cells = cells_json(&after);
    assert_eq!(tags(&cells[2]), ["parameters"]);
    let new = &cells[3];
    assert_eq!(tags(new), [INJECTED_TAG]);
    assert_eq!(new["cell_type"], "code");
    assert_eq!(new["execution_count"], Value::Null);
    assert_eq!(new["outputs"], Value::Array(Vec::new()));
    assert!(new.get("id").is_none(), "nbformat 4.4 cells have no id");
    assert_eq!(
        source(new),
        "# Parameters\nepochs = 3\nlearning_rate = 1e-3\n"
    );
    insta::assert_snapshot!("injected_after_parameters", injected_text(&after, 3));
}

#[test]
fn without_a_parameters_cell_the_cell_goes_first() {
    let after = inject_parameters(NO_PARAMETERS, &params(&[("x", "2")]), "").expect("inject");
    assert_one_cell_added(NO_PARAMETERS, &after, 0);
    let cells = cells_json(&after);
    assert_eq!(tags(&cells[0]), [INJECTED_TAG]);
    assert_eq!(source(&cells[0]), "# Parameters\nx = 2\n");
    assert_eq!(source(&cells[1]), "x = 1\n");
}

#[test]
fn every_fixture_keeps_its_cells_and_stays_json() {
    for (name, nb) in ALL {
        let after = inject_parameters(nb, &params(&[("p", "1")]), "").expect(name);
        let cells = cells_json(&after);
        let at = cells
            .iter()
            .position(|c| tags(c).contains(&INJECTED_TAG))
            .expect("an injected cell");
        if name == "papermill_executed" {
            assert_eq!(
                cells.len(),
                cell_texts(nb).len(),
                "{name}: replaced, not added"
            );
        } else {
            assert_one_cell_added(nb, &after, at);
        }
        // Jupyter's layout: one space per level, the cell two levels in.
        let text = injected_text(&after, at);
        assert!(
            text.starts_with("{\n   \"cell_type\": \"code\",\n   \"execution_count\": null,\n"),
            "{name}: {text}"
        );
        assert!(text.ends_with("\n   ]\n  }"), "{name}: {text}");
    }
}

#[test]
fn nbformat_4_5_gets_an_id_no_other_cell_has() {
    let after = inject_parameters(IDS_4_5, &params(&[("alpha", "0.9")]), "").expect("inject");
    assert_one_cell_added(IDS_4_5, &after, 2);
    assert_eq!(cells_json(&after)[2]["id"], "injected-parameters");
    insta::assert_snapshot!("injected_with_id", injected_text(&after, 2));

    let taken = IDS_4_5.replace("\"9c0d1e2f\"", "\"injected-parameters\"");
    let after = inject_parameters(&taken, &params(&[("alpha", "0.9")]), "").expect("inject");
    assert_eq!(cells_json(&after)[2]["id"], "injected-parameters-2");
}

#[test]
fn an_earlier_injected_cell_is_replaced_in_place() {
    let after =
        inject_parameters(PAPERMILL_EXECUTED, &params(&[("alpha", "0.2")]), "").expect("inject");
    let (before_cells, after_cells) = (cell_texts(PAPERMILL_EXECUTED), cell_texts(&after));
    assert_eq!(after_cells.len(), before_cells.len());
    for i in [0, 1, 3] {
        assert_eq!(after_cells[i], before_cells[i], "cell {i}");
    }
    let spans = (
        cell_spans(PAPERMILL_EXECUTED)[2].clone(),
        cell_spans(&after)[2].clone(),
    );
    assert_eq!(
        &PAPERMILL_EXECUTED[..spans.0.start],
        &after[..spans.1.start]
    );
    assert_eq!(&PAPERMILL_EXECUTED[spans.0.end..], &after[spans.1.end..]);
    let cell = &cells_json(&after)[2];
    assert_eq!(source(cell), "# Parameters\nalpha = 0.2\n");
    assert_eq!(cell["id"], "stale-id", "the replaced cell's id is kept");
    assert_eq!(cell["execution_count"], Value::Null);
    assert!(cell["metadata"].get("papermill").is_none());
}

#[test]
fn without_parameters_an_earlier_injected_cell_is_emptied() {
    let after = inject_parameters(PAPERMILL_EXECUTED, &[], "").expect("inject");
    let cells = cells_json(&after);
    assert_eq!(cells.len(), 4);
    assert_eq!(source(&cells[2]), "# Parameters\n");
    assert_eq!(tags(&cells[2]), [INJECTED_TAG]);
}

#[test]
fn source_note_becomes_comment_lines_that_cannot_turn_into_code() {
    let after = inject_parameters(
        NO_PARAMETERS,
        &params(&[("x", "2")]),
        "set by jupyterflow run\n\rimport os\u{2028}os.getcwd()",
    )
    .expect("inject");
    assert_eq!(
        source(&cells_json(&after)[0]),
        "# Parameters\n# set by jupyterflow run\n#\n# import os\n# os.getcwd()\nx = 2\n"
    );
}

#[test]
fn a_repeated_name_is_written_once_with_its_last_value() {
    let after = inject_parameters(
        NO_PARAMETERS,
        &params(&[("a", "1"), ("b", "2"), ("a", "3")]),
        "",
    )
    .expect("inject");
    assert_eq!(
        source(&cells_json(&after)[0]),
        "# Parameters\na = 3\nb = 2\n"
    );
}

#[test]
fn names_that_are_not_python_variables_are_refused() {
    for (name, reason) in [
        ("", "it is empty"),
        ("1st", "it starts with a digit"),
        (
            "x; import os",
            "a Python name has only letters, digits and underscores",
        ),
        (
            "a-b",
            "a Python name has only letters, digits and underscores",
        ),
        ("class", "it is a Python keyword"),
        ("None", "it is a Python keyword"),
    ] {
        let err = inject_parameters(WITH_PARAMETERS, &params(&[(name, "1")]), "").expect_err(name);
        assert_eq!(
            err,
            NotebookError::BadParameterName {
                name: name.to_owned(),
                reason
            }
        );
    }
    for name in ["_x", "x2", "données", "match", "type"] {
        inject_parameters(WITH_PARAMETERS, &params(&[(name, "1")]), "").expect(name);
    }
}

#[test]
fn crlf_notebooks_stay_crlf() {
    let crlf = NO_PARAMETERS.replace('\n', "\r\n");
    let after = inject_parameters(&crlf, &params(&[("x", "2")]), "").expect("inject");
    assert_one_cell_added(&crlf, &after, 0);
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "a bare \\n slipped in"
    );
}

#[test]
fn compact_notebooks_get_a_compact_cell() {
    let compact = r#"{"cells":[{"cell_type":"code","execution_count":null,"metadata":{"tags":["parameters"]},"outputs":[],"source":"x = 1"}],"metadata":{},"nbformat":4,"nbformat_minor":2}"#;
    let after = inject_parameters(compact, &params(&[("x", "2")]), "").expect("inject");
    assert_one_cell_added(compact, &after, 1);
    assert!(!after.contains('\n'));
    insta::assert_snapshot!("injected_compact", injected_text(&after, 1));
}

#[test]
fn notebooks_without_cells_get_one() {
    let pretty =
        "{\n \"cells\": [],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n";
    let after = inject_parameters(pretty, &params(&[("x", "2")]), "").expect("inject");
    insta::assert_snapshot!("injected_into_empty", after);
    assert_eq!(cells_json(&after).len(), 1);

    let compact = r#"{"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":4}"#;
    let after = inject_parameters(compact, &params(&[("x", "2")]), "").expect("inject");
    assert_eq!(
        after,
        r##"{"cells":[{"cell_type":"code","execution_count":null,"metadata":{"tags":["injected-parameters"]},"outputs":[],"source":["# Parameters\n","x = 2\n"]}],"metadata":{},"nbformat":4,"nbformat_minor":4}"##
    );
}

#[test]
fn spans_survive_escapes_brackets_in_strings_and_unicode() {
    let tricky = "{\"nbformat\": 4, \"cells\": [\n  {\"cell_type\": \"markdown\", \"source\": \"]}\\\"[{ ✓ \\\\\"},\n  {\"cell_type\": \"code\", \"metadata\": {\"tags\": [\"parameters\"]}, \"source\": [\"a = 1\\n\"], \"n\": -1.5e3}\n], \"nbformat_minor\": 0}";
    let after = inject_parameters(tricky, &params(&[("a", "2")]), "").expect("inject");
    assert_one_cell_added(tricky, &after, 2);
    assert_eq!(source(&cells_json(&after)[2]), "# Parameters\na = 2\n");
}

// ---- `-p` typing and Python literals ----

#[test]
fn values_are_typed_like_yaml_core_scalars() {
    use ParamValue::{Bool, Float, Int, Null, Str};
    let float = |s: &str| Float(s.to_owned());
    let string = |s: &str| Str(s.to_owned());
    let table = [
        ("true", Bool(true)),
        ("True", Bool(true)),
        ("TRUE", Bool(true)),
        ("false", Bool(false)),
        ("False", Bool(false)),
        ("FALSE", Bool(false)),
        ("tRUE", string("tRUE")),
        ("yes", string("yes")),
        ("null", Null),
        ("Null", Null),
        ("NULL", Null),
        ("~", Null),
        ("", Null),
        ("None", Null),
        ("0", Int(0)),
        ("42", Int(42)),
        ("-7", Int(-7)),
        ("+3", Int(3)),
        ("007", Int(7)),
        ("0x1f", Int(31)),
        ("0xFF", Int(255)),
        ("0o17", Int(15)),
        ("0o8", string("0o8")),
        ("0x", string("0x")),
        ("-0x1", string("-0x1")),
        ("9223372036854775807", Int(i64::MAX)),
        ("-9223372036854775808", Int(i64::MIN)),
        ("9223372036854775808", string("9223372036854775808")),
        ("1.5", float("1.5")),
        ("-2.0", float("-2.0")),
        (".5", float(".5")),
        ("1.", float("1.")),
        ("1e-3", float("1e-3")),
        ("1E10", float("1E10")),
        ("+1.5e+2", float("+1.5e+2")),
        (".inf", float(".inf")),
        ("-.Inf", float("-.Inf")),
        ("+.INF", float("+.INF")),
        (".nan", float(".nan")),
        (".NaN", float(".NaN")),
        ("-.nan", string("-.nan")),
        ("inf", string("inf")),
        ("nan", string("nan")),
        (".", string(".")),
        ("1e", string("1e")),
        ("e3", string("e3")),
        ("1_000", string("1_000")),
        (" 1", string(" 1")),
        ("1.2.3", string("1.2.3")),
        ("data/train.csv", string("data/train.csv")),
        ("'quoted'", string("'quoted'")),
    ];
    for (text, expected) in table {
        assert_eq!(ParamValue::parse_yaml_scalar(text), expected, "{text:?}");
    }
}

#[test]
fn python_literals() {
    let table = [
        ("true", "True"),
        ("False", "False"),
        ("~", "None"),
        ("42", "42"),
        ("007", "7"),
        ("0x1f", "31"),
        ("1e-3", "1e-3"),
        (".5", ".5"),
        ("1.", "1."),
        (".inf", "float('inf')"),
        ("+.inf", "float('inf')"),
        ("-.INF", "float('-inf')"),
        (".nan", "float('nan')"),
        ("it's", "\"it's\""),
        ("a\"b\\c\nd", "\"a\\\"b\\\\c\\nd\""),
        ("é ✓", "\"é ✓\""),
        ("\u{1b}[0m\u{2028}", "\"\\x1b[0m\\u2028\""),
    ];
    for (text, literal) in table {
        assert_eq!(
            ParamValue::parse_yaml_scalar(text).python_literal(),
            literal,
            "{text:?}"
        );
    }
    // Built by hand, not by `parse_yaml_scalar`: still only ever a float.
    assert_eq!(ParamValue::Float("3".into()).python_literal(), "3.0");
    assert_eq!(
        ParamValue::Float("__import__('os')".into()).python_literal(),
        "float(\"__import__('os')\")"
    );
}

/// A python3 to run, from /usr/bin or PATH; a test that needs one fails when there is none.
fn python3() -> Command {
    for candidate in ["/usr/bin/python3", "python3"] {
        let works = Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Command::new(candidate);
        }
    }
    panic!(
        "python3 was not found at /usr/bin/python3 or on PATH: this test checks the Python \
         literals jupyterflow writes with a real Python 3; install python3 to run it"
    );
}

/// Runs `script` with `stdin` and returns its stdout; fails on a non-zero exit.
fn run_python(script: &str, stdin: &str) -> String {
    let mut child = python3()
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

const NASTY: &[&str] = &[
    "",
    "plain",
    "it's",
    "say \"hi\"",
    "back\\slash",
    "trailing\\",
    "\\",
    "\\n is not a newline",
    "\\x41 \\u0041 \\N{DASH}",
    "new\nline",
    "cr\rlf\r\n",
    "tab\there",
    "\0nul",
    "\u{7}bell \u{1b}[31mred\u{1b}[0m",
    "\u{7f}\u{85}\u{a0}",
    "\u{b}\u{c}\u{1c}\u{1d}\u{1e}",
    "ünïcødé ✓ 中文 🎉",
    "e\u{301}",
    "\u{2028}\u{2029}",
    "\u{feff}bom",
    "\u{202e}rtl\u{2066}",
    "'''",
    "\"\"\"",
    "a\"\"\"b'''c",
    "{x} %s {{}}",
    "# not a comment",
    "\")\nimport os\n(\"",
];

#[test]
fn string_literals_round_trip_through_python() {
    let literals: Vec<String> = NASTY
        .iter()
        .map(|s| ParamValue::Str((*s).to_owned()).python_literal())
        .collect();
    let input = serde_json::to_string(&literals).expect("JSON");
    let out = run_python(
        "import ast, json, sys\n\
         print(json.dumps([ast.literal_eval(s) for s in json.loads(sys.stdin.buffer.read())]))",
        &input,
    );
    let back: Vec<String> = serde_json::from_str(&out).expect("python's JSON");
    assert_eq!(back, NASTY);
}

#[test]
fn the_injected_cell_runs_in_python_and_gives_the_values() {
    let mut given = params(&[
        ("i", "42"),
        ("h", "0x10"),
        ("big", "-9223372036854775808"),
        ("f", "1e-3"),
        ("half", ".5"),
        ("one", "1."),
        ("ninf", "-.inf"),
        ("nan", ".nan"),
        ("yes", "True"),
        ("nothing", "~"),
        ("path", "data/train.csv"),
    ]);
    for (n, text) in NASTY.iter().enumerate() {
        given.push(Param {
            name: format!("s{n}"),
            value: ParamValue::Str((*text).to_owned()),
        });
    }
    let after = inject_parameters(
        WITH_PARAMETERS,
        &given,
        "note\u{2028}raise SystemExit(1)\rraise SystemExit(2)",
    )
    .expect("inject");
    let cell_source = source(&cells_json(&after)[3]);
    let out = run_python(
        "import json, sys\n\
         ns = {}\n\
         exec(compile(sys.stdin.buffer.read().decode('utf-8'), 'cell', 'exec'), {}, ns)\n\
         print(json.dumps({k: [type(v).__name__, v if isinstance(v, str) else repr(v)] for k, v in ns.items()}))",
        &cell_source,
    );
    let got: std::collections::BTreeMap<String, (String, String)> =
        serde_json::from_str(&out).expect("python's JSON");
    let pair = |t: &str, v: &str| (t.to_owned(), v.to_owned());
    let mut expected = std::collections::BTreeMap::from([
        ("i".to_owned(), pair("int", "42")),
        ("h".to_owned(), pair("int", "16")),
        ("big".to_owned(), pair("int", "-9223372036854775808")),
        ("f".to_owned(), pair("float", "0.001")),
        ("half".to_owned(), pair("float", "0.5")),
        ("one".to_owned(), pair("float", "1.0")),
        ("ninf".to_owned(), pair("float", "-inf")),
        ("nan".to_owned(), pair("float", "nan")),
        ("yes".to_owned(), pair("bool", "True")),
        ("nothing".to_owned(), pair("NoneType", "None")),
        ("path".to_owned(), pair("str", "data/train.csv")),
    ]);
    for (n, text) in NASTY.iter().enumerate() {
        expected.insert(format!("s{n}"), pair("str", text));
    }
    assert_eq!(got, expected);
}

#[test]
fn injected_notebooks_are_what_jupyter_itself_would_save() {
    // Jupyter saves with json.dumps(sort_keys=True, indent=1, ensure_ascii=False) and a final
    // newline; a notebook we edited must come out of that unchanged, new cell included.
    for (name, nb) in ALL {
        let after = inject_parameters(nb, &params(&[("p", "'x' \"y\" ✓"), ("q", ".nan")]), "note")
            .expect(name);
        let resaved = run_python(
            "import json, sys\n\
             nb = json.loads(sys.stdin.buffer.read())\n\
             out = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\\n'\n\
             sys.stdout.buffer.write(out.encode('utf-8'))",
            &after,
        );
        assert_eq!(resaved, after, "{name}");
    }
}

// ---- the parameters cell ----

#[test]
fn top_level_assignments_edge_cases() {
    let table: &[(&str, &[&str])] = &[
        ("x = 1", &["x"]),
        ("x=1", &["x"]),
        ("x: int = 1", &["x"]),
        ("x: dict[str, int] = {}", &["x"]),
        ("a = b = 1", &["a", "b"]),
        ("a, b = 1, 2", &["a", "b"]),
        ("(a, b) = 1, 2", &["a", "b"]),
        ("[a, *rest] = [1, 2, 3]", &["a", "rest"]),
        ("a, = [1]", &["a"]),
        ("x = 1; y = 2", &["x", "y"]),
        ("x = 1  # z = 3", &["x"]),
        ("# w = 1", &[]),
        ("x = 1\nx = 2", &["x"]),
        ("x == 1", &[]),
        ("x += 1", &[]),
        ("x //= 2", &[]),
        ("x: int", &[]),
        ("  y = 1", &[]),
        ("\ty = 1", &[]),
        ("if True:\n    z = 1", &[]),
        ("for i in range(3): j = i", &[]),
        ("def f(a=1):\n    b = 2", &[]),
        ("f(a=1)", &[]),
        ("d['k'] = 1", &[]),
        ("obj.attr = 1", &[]),
        ("class = 1", &[]),
        ("x = y if z else w", &["x"]),
        ("x = (y := 2)", &["x"]),
        ("x = y >= 2", &["x"]),
        ("f = lambda q=1: q", &["f"]),
        ("s = 'a = b'", &["s"]),
        ("s = \"it's = 1\"", &["s"]),
        ("s = 'it\\'s'\nt = 1", &["s", "t"]),
        ("d = dict(\n    k=1,\n    j=[2,\n3],\n)\ne = 2", &["d", "e"]),
        ("x = {\n'a': [1,\n2]}\ny = 3", &["x", "y"]),
        ("s = \"\"\"\nt = 1\n\"\"\"\nu = 2", &["s", "u"]),
        ("s = '''a\n''' + '''\nt = 1'''\nu = 2", &["s", "u"]),
        ("\"\"\"Docstring.\n\nv = 1\n\"\"\"\nw = 2", &["w"]),
        ("x = 1 + \\\n    2\ny = 3", &["x", "y"]),
        ("x = \\\ny = 3", &["x"]),
        ("x = 'unterminated\ny = 2", &["x", "y"]),
        ("%matplotlib inline\n!pip install a==1\nx = 1", &["x"]),
        ("a = 1\r\nb = 2\r\n", &["a", "b"]),
        ("données = 1", &["données"]),
        ("x = ')' ; y = '('\nz = 1", &["x", "y", "z"]),
    ];
    for (source, names) in table {
        assert_eq!(
            assigned::top_level_assignments(source),
            *names,
            "{source:?}"
        );
    }
}

#[test]
fn parameter_names_from_fixtures() {
    assert_eq!(
        parameter_names(WITH_PARAMETERS).expect("notebook"),
        Some(ParametersCell {
            number: 3,
            names: ["learning_rate", "epochs", "data_path", "train", "test"]
                .map(str::to_owned)
                .to_vec(),
        })
    );
    assert_eq!(
        parameter_names(SOURCE_AS_STRING).expect("notebook"),
        Some(ParametersCell {
            number: 1,
            names: vec!["seed".to_owned(), "batch_size".to_owned()],
        })
    );
    assert_eq!(parameter_names(NO_PARAMETERS).expect("notebook"), None);
    assert!(parameter_names("[]").is_err());
}

#[test]
fn unknown_parameters_get_a_did_you_mean() {
    let cell = parameter_names(WITH_PARAMETERS)
        .expect("notebook")
        .expect("a parameters cell");
    assert_eq!(unknown_parameter_hint("epochs", &cell), None);
    insta::assert_snapshot!(
        "unknown_parameter_hints",
        [
            unknown_parameter_hint("learning_rat", &cell),
            unknown_parameter_hint("zzz", &cell),
            unknown_parameter_hint(
                "x",
                &ParametersCell {
                    number: 1,
                    names: Vec::new()
                }
            ),
        ]
        .map(Option::unwrap_or_default)
        .join("\n")
    );
}

// ---- kernel and errors ----

#[test]
fn kernel_names() {
    assert_eq!(kernel_name(WITH_PARAMETERS).as_deref(), Some("python3"));
    assert_eq!(kernel_name(NO_PARAMETERS).as_deref(), Some("ir"));
    assert_eq!(kernel_name(r#"{"metadata": {}}"#), None);
    assert_eq!(kernel_name("not json"), None);
}

#[test]
fn the_first_error_with_its_cell_and_a_clean_traceback() {
    let error = first_error(EXECUTED_ERROR, 4).expect("an error");
    assert_eq!(
        error,
        CellError {
            number: 3,
            execution_count: Some(2),
            id: None,
            ename: "ZeroDivisionError".to_owned(),
            evalue: "division by zero".to_owned(),
            traceback: [
                "Cell In[2], line 2",
                "      1 x = 1",
                "----> 2 print(x / 0)",
                "ZeroDivisionError: division by zero",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    );
    assert_eq!(
        first_error(EXECUTED_ERROR, 100)
            .expect("error")
            .traceback
            .len(),
        6
    );
    assert!(
        first_error(EXECUTED_ERROR, 0)
            .expect("error")
            .traceback
            .is_empty()
    );
    assert_eq!(first_error(PAPERMILL_EXECUTED, 5), None);
    assert_eq!(first_error("not json", 5), None);
}

#[test]
fn papermills_error_cells_do_not_shift_the_cell_number() {
    // Cell 4 of the injected notebook (markdown, parameters, injected, the division), as the
    // nbclient driver numbers it; papermill's banner and anchor cells are not counted.
    let error = first_error(PAPERMILL_FAILED, 1).expect("an error");
    assert_eq!(
        error.headline(),
        "cell 4 (In [3]) failed: ZeroDivisionError: division by zero"
    );
    assert_eq!(error.traceback, ["ZeroDivisionError: division by zero"]);
}

#[test]
fn ansi_sequences_are_stripped() {
    assert_eq!(strip_ansi("\u{1b}[0;31mred\u{1b}[0m"), "red");
    assert_eq!(strip_ansi("\u{1b}[38;5;241m=\u{1b}[39m"), "=");
    assert_eq!(
        strip_ansi("\u{1b}]8;;https://x.y\u{7}link\u{1b}]8;;\u{1b}\\ end"),
        "link end"
    );
    assert_eq!(strip_ansi("a\u{1b}(Bb\u{1b}"), "ab");
    assert_eq!(strip_ansi("ünï ✓"), "ünï ✓");
}

// ---- not notebooks ----

#[test]
fn messages_for_texts_that_are_not_notebooks() {
    let cases = [
        "",
        "  \n",
        "{",
        "{\"cells\": [,]}",
        "<<<<<<< HEAD\n{}",
        "{} trailing",
        "{\"a\": \"\u{1}\"}",
        "[1, 2]",
        "\"text\"",
        "null",
        "3",
        "{}",
        "{\"nbformat\": 3, \"worksheets\": []}",
        "{\"nbformat\": \"4\"}",
        "{\"nbformat\": 4}",
        "{\"nbformat\": 4, \"cells\": {}}",
        "{\"nbformat\": 4, \"cells\": [1]}",
        "{\"nbformat\": 4, \"cells\": [{}, {\"source\": \"\"}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": 3}]}",
    ];
    let mut report = String::new();
    for text in cases {
        let message = read(text).err().expect("an error").to_string();
        for leak in ["serde", "EOF", "invalid type", "Value", "struct", "`u64`"] {
            assert!(!message.contains(leak), "{message}");
        }
        report.push_str(&format!("{text:?}\n  {message}\n"));
    }
    insta::assert_snapshot!("not_notebooks", report);
}

#[test]
fn a_repeated_key_counts_with_its_last_value() {
    let text = "{\"nbformat\": 3, \"cells\": 1, \"nbformat\": 4, \"cells\": []}";
    let nb = read(text).expect("a notebook");
    assert!(nb.cells.is_empty());
}
