//! Label and field selectors (`labelSelector`, `fieldSelector` query parameters): parsing with
//! the API server's rules and matching against JSON objects. Errors become a 400.

use serde_json::Value;

use super::resources::Res;
use super::validate::{label_key_errors, label_value_errors};

#[derive(Debug, Clone)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Not,
    Eq,
    NotEq,
    Open,
    Close,
    Comma,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Not => "'!'".to_owned(),
            Tok::Eq => "'='".to_owned(),
            Tok::NotEq => "'!='".to_owned(),
            Tok::Open => "'('".to_owned(),
            Tok::Close => "')'".to_owned(),
            Tok::Comma => "','".to_owned(),
        }
    }
}

impl LabelReq {
    /// Keys and values must be valid label keys and values.
    fn check(&self) -> Result<(), String> {
        let (key, values): (&str, Vec<&str>) = match self {
            LabelReq::Eq(k, v) | LabelReq::NotEq(k, v) => (k, vec![v.as_str()]),
            LabelReq::In(k, vs) | LabelReq::NotIn(k, vs) => {
                (k, vs.iter().map(String::as_str).collect())
            }
            LabelReq::Exists(k) | LabelReq::NotExists(k) => (k, vec![]),
        };
        if let Some(e) = label_key_errors(key).first() {
            return Err(format!(
                "unable to parse requirement: key: Invalid value: \"{key}\": {e}"
            ));
        }
        for v in values {
            if let Some(e) = label_value_errors(v).first() {
                return Err(format!(
                    "unable to parse requirement: values[0][{key}]: Invalid value: \"{v}\": {e}"
                ));
            }
        }
        Ok(())
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            ',' => {
                chars.next();
                toks.push(Tok::Comma);
            }
            '(' => {
                chars.next();
                toks.push(Tok::Open);
            }
            ')' => {
                chars.next();
                toks.push(Tok::Close);
            }
            '!' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    toks.push(Tok::NotEq);
                } else {
                    toks.push(Tok::Not);
                }
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                toks.push(Tok::Eq);
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/') => {
                let mut ident = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/') {
                        ident.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Ident(ident));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(toks)
}

/// A parsed `labelSelector`: every requirement must hold (comma = AND). Empty matches all.
#[derive(Debug, Clone, Default)]
pub(super) struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub(super) fn parse(s: &str) -> Result<LabelSelector, String> {
        let toks = tokenize(s).map_err(|e| format!("unable to parse requirement: {e}"))?;
        let mut reqs = Vec::new();
        let mut i = 0;
        let ident = |i: usize| match toks.get(i) {
            Some(Tok::Ident(s)) => Some(s.clone()),
            _ => None,
        };
        let syntax = |what: &str, i: usize| {
            format!(
                "unable to parse requirement: found {}, expected: {what}",
                toks.get(i)
                    .map_or("end of string".to_owned(), Tok::describe)
            )
        };
        while i < toks.len() {
            let req = if toks[i] == Tok::Not {
                let key = ident(i + 1).ok_or_else(|| syntax("identifier", i + 1))?;
                i += 2;
                LabelReq::NotExists(key)
            } else {
                let key = ident(i).ok_or_else(|| syntax("identifier or '!'", i))?;
                i += 1;
                match toks.get(i) {
                    None | Some(Tok::Comma) => LabelReq::Exists(key),
                    Some(op @ (Tok::Eq | Tok::NotEq)) => {
                        let op = op.clone();
                        i += 1;
                        let value = match ident(i) {
                            Some(v) => {
                                i += 1;
                                v
                            }
                            None => String::new(),
                        };
                        if op == Tok::Eq {
                            LabelReq::Eq(key, value)
                        } else {
                            LabelReq::NotEq(key, value)
                        }
                    }
                    Some(Tok::Ident(word)) if word == "in" || word == "notin" => {
                        let is_in = word == "in";
                        i += 1;
                        if toks.get(i) != Some(&Tok::Open) {
                            return Err(syntax("'('", i));
                        }
                        i += 1;
                        let mut values = Vec::new();
                        loop {
                            match toks.get(i) {
                                Some(Tok::Ident(v)) => values.push(v.clone()),
                                _ => return Err(syntax("identifier", i)),
                            }
                            i += 1;
                            match toks.get(i) {
                                Some(Tok::Comma) => i += 1,
                                Some(Tok::Close) => {
                                    i += 1;
                                    break;
                                }
                                _ => return Err(syntax("',' or ')'", i)),
                            }
                        }
                        if is_in {
                            LabelReq::In(key, values)
                        } else {
                            LabelReq::NotIn(key, values)
                        }
                    }
                    Some(_) => return Err(syntax("'=', '!=', 'in', 'notin' or ','", i)),
                }
            };
            match toks.get(i) {
                None => {}
                Some(Tok::Comma) if i + 1 < toks.len() => i += 1,
                Some(_) => return Err(syntax("',' or end of string", i)),
            }
            reqs.push(req);
        }
        for req in &reqs {
            req.check()?;
        }
        Ok(LabelSelector(reqs))
    }

    pub(super) fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }
}

/// A parsed `fieldSelector`: `field=value`, `field==value`, `field!=value`, comma = AND.
#[derive(Debug, Clone, Default)]
pub(super) struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub(super) fn parse(s: &str, res: Res) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let field = field.trim();
            let known = res.def().field_selectors;
            if !known.contains(&field) {
                let list: Vec<String> = known.iter().map(|f| format!("\"{f}\"")).collect();
                return Err(format!(
                    "\"{field}\" is not a known field selector: only {}",
                    list.join(", ")
                ));
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(FieldSelector(terms))
    }

    pub(super) fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = obj.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
            (actual == value) == *equal
        })
    }
}

/// Both selectors of a list or watch request.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    pub(super) labels: LabelSelector,
    pub(super) fields: FieldSelector,
}

impl Filter {
    pub(super) fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}
