//! Params: `--set` parsing, overriding, `env` substitution and the recorded map.

use super::*;
use crate::pipeline::{Source, WorkflowOptions};

fn param(name: &str, value: &str) -> Param {
    Param {
        name: name.to_owned(),
        value: value.to_owned(),
        pos: None,
    }
}

fn pipeline(params: Vec<Param>) -> Pipeline {
    Pipeline {
        name: None,
        source: Source::File("workflow.yaml".into()),
        jobs: Vec::new(),
        edges: Vec::new(),
        options: WorkflowOptions {
            params,
            ..WorkflowOptions::default()
        },
    }
}

fn set(text: &str) -> ParamSet {
    ParamSet::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn set_takes_everything_after_the_first_equals() {
    assert_eq!(
        set("lr=0.01"),
        ParamSet {
            name: "lr".into(),
            value: "0.01".into()
        }
    );
    assert_eq!(set("query=a=b").value, "a=b");
    assert_eq!(set("empty=").value, "");
    assert_eq!(ParamSet::parse("lr"), Err(BadSet::NoEquals("lr".into())));
    assert_eq!(ParamSet::parse("=1"), Err(BadSet::NoName("=1".into())));
    assert!(
        BadSet::NoEquals("lr".into())
            .hint()
            .contains("--set lr=0.01")
    );
}

#[test]
fn a_later_set_wins_and_others_keep_their_values() {
    let mut p = pipeline(vec![param("lr", "0.1"), param("epochs", "10")]);
    p.set_params(&[set("lr=0.5"), set("lr=0.01")])
        .expect("declared");
    let values: Vec<(&str, &str)> = p
        .options
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(values, [("lr", "0.01"), ("epochs", "10")]);
}

#[test]
fn setting_an_undeclared_param_is_refused_and_changes_nothing() {
    let mut p = pipeline(vec![param("lr", "0.1"), param("epochs", "10")]);
    let err = p
        .set_params(&[set("lr=0.5"), set("epoch=3")])
        .expect_err("undeclared");
    assert_eq!(err.name, "epoch");
    assert_eq!(err.suggestion.as_deref(), Some("epochs"));
    assert_eq!(
        err.to_string(),
        "`--set epoch=…`: workflow.yaml declares no param `epoch`"
    );
    assert_eq!(
        err.hint(),
        "did you mean `epochs`? --set overrides the params the file declares: lr, epochs"
    );
    assert_eq!(p.options.params[0].value, "0.1", "nothing half-applied");

    let mut none = pipeline(Vec::new());
    let err = none.set_params(&[set("lr=1")]).expect_err("none declared");
    assert!(
        err.hint().contains("add `params: {lr: …}`"),
        "{}",
        err.hint()
    );
}

#[test]
fn env_values_take_params_verbatim() {
    let params = [param("lr", "0.1"), param("data", "s3://b/x y")];
    let cases = [
        ("{lr}", "0.1"),
        ("--lr={lr} --data={data}", "--lr=0.1 --data=s3://b/x y"),
        // Not params: kept as written, braces and all.
        ("${HOME}/{other}", "${HOME}/{other}"),
        (r#"{"lr": 1}"#, r#"{"lr": 1}"#),
        ("{lr", "{lr"),
        ("}{lr}{", "}0.1{"),
        // Escaped: the braces stay, the backslash goes.
        (r"\{lr} is {lr}", "{lr} is 0.1"),
        ("", ""),
    ];
    for (text, want) in cases {
        assert_eq!(substitute(text, &params), want, "{text:?}");
    }
    assert_eq!(substitute("{lr}", &[]), "{lr}");
}

#[test]
fn the_recorded_map_keeps_the_declared_order() {
    let map = ParamMap::of(&[param("zeta", "1"), param("alpha", "two words")]);
    let json = serde_json::to_string(&map).expect("serialises");
    assert_eq!(json, r#"{"zeta":"1","alpha":"two words"}"#);
    let back: ParamMap = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, map);
    assert_eq!(map.to_string(), "zeta=1, alpha=two words");
    assert!(ParamMap::default().is_empty());
    assert!(serde_json::from_str::<ParamMap>("[1]").is_err());
}
