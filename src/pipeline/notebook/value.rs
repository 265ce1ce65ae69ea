//! Notebook parameter values: typing `-p NAME VALUE` text as YAML 1.2 core scalars, and writing
//! each value as Python source for the injected cell. Also what counts as a Python name.

/// One `-p NAME VALUE`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: ParamValue,
}

impl Param {
    /// `-p NAME VALUE` as given on the command line: the value is typed by `parse_yaml_scalar`.
    pub fn from_cli(name: &str, value: &str) -> Self {
        Param {
            name: name.to_owned(),
            value: ParamValue::parse_yaml_scalar(value),
        }
    }
}

/// A parameter value, typed the way papermill types `-p` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Int(i64),
    /// The float as written (`1e-3`, `.5`, `-.inf`), so no digit is lost or invented in the
    /// round trip through a binary float.
    Float(String),
    Bool(bool),
    Null,
    Str(String),
}

impl ParamValue {
    /// Types `text` like a YAML 1.2 core-schema plain scalar: `true`/`True`/`TRUE` (and false)
    /// are booleans; `null`/`Null`/`NULL`/`~`/the empty text are null; `42`, `-7`, `+3`, `0x1f`,
    /// `0o17` are integers; `1.5`, `1e-3`, `.5`, `-2.0`, `.inf`, `-.inf`, `.nan` are floats;
    /// anything else is a string, kept exactly (no trimming).
    ///
    /// Two departures, both deliberate: `None` is null too, because papermill's `-p` reads it
    /// that way and the people writing `-p x None` are Python users; and an integer too large
    /// for 64 bits stays a string rather than silently becoming a float.
    pub fn parse_yaml_scalar(text: &str) -> ParamValue {
        match text {
            "true" | "True" | "TRUE" => return ParamValue::Bool(true),
            "false" | "False" | "FALSE" => return ParamValue::Bool(false),
            "" | "~" | "null" | "Null" | "NULL" | "None" => return ParamValue::Null,
            _ => {}
        }
        if let Some(int) = yaml_int(text) {
            return match int {
                YamlInt::Fits(value) => ParamValue::Int(value),
                YamlInt::TooBig => ParamValue::Str(text.to_owned()),
            };
        }
        if special_float(text).is_some() || is_yaml_decimal_float(text) {
            return ParamValue::Float(text.to_owned());
        }
        ParamValue::Str(text.to_owned())
    }

    /// The value as Python source: `True`, `None`, `42`, `0.5`, `float('inf')`, `"a \"b\""`.
    ///
    /// Strings are double-quoted with backslash escapes for quotes, backslashes and control
    /// characters, and for the invisible characters that make source read differently from
    /// what runs (line/paragraph separators, BOM, bidirectional controls); all other Unicode is
    /// written as itself. A `Float` whose text is not a YAML float (it can only come from code
    /// building the variant directly) is written as `float("…")`, so it can never be anything
    /// but a float conversion in the notebook.
    pub fn python_literal(&self) -> String {
        match self {
            ParamValue::Int(value) => value.to_string(),
            ParamValue::Bool(true) => "True".to_owned(),
            ParamValue::Bool(false) => "False".to_owned(),
            ParamValue::Null => "None".to_owned(),
            ParamValue::Str(text) => python_string(text),
            ParamValue::Float(text) => match special_float(text) {
                Some(Special::Inf) => "float('inf')".to_owned(),
                Some(Special::NegInf) => "float('-inf')".to_owned(),
                Some(Special::Nan) => "float('nan')".to_owned(),
                None if is_yaml_decimal_float(text) => {
                    // `7` would be a Python int; a YAML float always has a point or exponent
                    // unless someone built the variant by hand.
                    if text.contains(['.', 'e', 'E']) {
                        text.clone()
                    } else {
                        format!("{text}.0")
                    }
                }
                None => format!("float({})", python_string(text)),
            },
        }
    }
}

/// What integer syntax gives.
enum YamlInt {
    Fits(i64),
    /// Integer syntax, but beyond 64 bits.
    TooBig,
}

/// The YAML core integer `text` spells (`[-+]?[0-9]+`, `0x[0-9a-fA-F]+`, `0o[0-7]+`), if any.
fn yaml_int(text: &str) -> Option<YamlInt> {
    let typed = |parsed: Result<i64, _>| parsed.map_or(YamlInt::TooBig, YamlInt::Fits);
    let radix_digits = |prefix: &str, radix: u32| {
        text.strip_prefix(prefix)
            .filter(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)))
            .map(|digits| typed(i64::from_str_radix(digits, radix)))
    };
    if let Some(int) = radix_digits("0x", 16).or_else(|| radix_digits("0o", 8)) {
        return Some(int);
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Rust's parser accepts the sign and leading zeros exactly as YAML does.
    Some(typed(text.parse::<i64>()))
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`, the YAML 1.2 core float
/// (which also matches integers; those are typed as integers before this is asked).
fn is_yaml_decimal_float(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => !fraction.is_empty() && all_digits(fraction),
        Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

enum Special {
    Inf,
    NegInf,
    Nan,
}

fn special_float(text: &str) -> Option<Special> {
    match text {
        ".nan" | ".NaN" | ".NAN" => return Some(Special::Nan),
        _ => {}
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    matches!(body, ".inf" | ".Inf" | ".INF").then_some(if negative {
        Special::NegInf
    } else {
        Special::Inf
    })
}

/// A double-quoted Python string literal that evaluates to exactly `text`.
pub(super) fn python_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters written as escapes: controls (a raw one can end the line or corrupt the cell),
/// and the invisible ones that make code display differently from how it runs.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Why `name` cannot be assigned in Python, or `None` when it can. Letters may be any
/// alphabetic Unicode, as in Python; digits cannot come first; keywords are refused.
pub(super) fn python_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("it is empty"),
        Some(first) if first.is_numeric() => return Some("it starts with a digit"),
        Some(first) if !(first == '_' || first.is_alphabetic()) => {
            return Some("a Python name has only letters, digits and underscores");
        }
        Some(_) => {}
    }
    if !chars.all(|c| c == '_' || c.is_alphanumeric()) {
        return Some("a Python name has only letters, digits and underscores");
    }
    if PYTHON_KEYWORDS.contains(&name) {
        return Some("it is a Python keyword");
    }
    None
}
