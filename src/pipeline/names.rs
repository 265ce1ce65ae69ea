//! Names Kubernetes and Argo accept, made from what the user wrote: a job's name derived from
//! its command (`python train.py` → `train`), DNS-label cleaning, the 63-character cap, and
//! numbering of repeats (`echo-1`, `echo-2`), and Kubernetes' rules for label keys and values
//! (here, below `argo`, so that workflow.yaml's `node_selector` and `tolerations` are checked
//! where their positions are known). Pure.

use std::collections::HashMap;

use super::command::{CommandTemplate, Segment, Word};

/// Longest job name we produce: a Kubernetes label value (and DNS label) is at most 63.
pub(crate) const MAX_NAME: usize = 63;

/// A readable name from a command: the script it runs (`python train.py` → `train`,
/// `python -m pkg.mod` → `mod`), else the program (`echo hello` → `echo`).
pub(crate) fn derive_name(command: &CommandTemplate) -> String {
    const SCRIPTS: [&str; 8] = [".py", ".sh", ".r", ".R", ".ipynb", ".jl", ".js", ".pl"];
    let words: Vec<String> = match command {
        CommandTemplate::Exec(words) => words.iter().map(word_text).collect(),
        CommandTemplate::Shell(segments) => segments
            .iter()
            .filter_map(|s| match s {
                Segment::Text(t) => Some(t.as_str()),
                Segment::Param(_) | Segment::Const(_) => None,
            })
            .collect::<String>()
            .split_whitespace()
            .map(|w| w.trim_matches(['\'', '"']).to_owned())
            .collect(),
    };
    let script = words
        .iter()
        .find(|w| SCRIPTS.iter().any(|ext| w.ends_with(ext)) && !w.starts_with('-'));
    let module = words
        .windows(2)
        .find(|pair| pair[0] == "-m")
        .map(|pair| pair[1].rsplit('.').next().unwrap_or_default().to_owned());
    let base = if let Some(script) = script {
        let file = script.rsplit('/').next().unwrap_or(script);
        file.rsplit_once('.')
            .map_or(file, |(stem, _)| stem)
            .to_owned()
    } else if let Some(module) = module {
        module
    } else {
        let program = words
            .iter()
            .find(|w| !w.contains('='))
            .map_or("job", String::as_str);
        program.rsplit('/').next().unwrap_or(program).to_owned()
    };
    truncate(dns_label(&base, "job"))
}

fn word_text(word: &Word) -> String {
    word.0
        .iter()
        .map(|s| match s {
            Segment::Text(t) => t.as_str(),
            Segment::Param(_) | Segment::Const(_) => "",
        })
        .collect()
}

/// Lowercase `[a-z0-9-]`, no leading/trailing/double dashes; `fallback` when nothing is left.
pub(crate) fn dns_label(text: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

pub(crate) fn truncate(mut name: String) -> String {
    if name.len() > MAX_NAME {
        name.truncate(MAX_NAME);
        while name.ends_with('-') {
            name.pop();
        }
    }
    name
}

/// `base` numbered `n` (`echo-2`), within `MAX_NAME`: the base is cut so that the suffix
/// always fits. (Truncating `{base}-{n}` as a whole would cut the suffix off again and hand
/// back `base` itself, so a loop looking for a free name would never end.)
pub(crate) fn numbered(base: &str, n: usize) -> String {
    let suffix = format!("-{n}");
    let mut cut = base.to_owned();
    // Names are ASCII (see `dns_label`), so any byte index is a char boundary.
    cut.truncate(MAX_NAME.saturating_sub(suffix.len()));
    while cut.ends_with('-') {
        cut.pop();
    }
    cut + &suffix
}

/// `name`, or the first free `numbered(name, n)` when `name` is taken; records the result.
/// Terminates: every candidate is distinct (the suffix always survives) and `used` is finite.
pub(crate) fn unique(name: String, used: &mut HashMap<String, usize>) -> String {
    let count = used.entry(name.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        return name;
    }
    let mut n = *count;
    loop {
        let candidate = numbered(&name, n);
        if !used.contains_key(&candidate) {
            used.insert(candidate.clone(), 1);
            return candidate;
        }
        n += 1;
    }
}

/// Label keys: `name` or `prefix/name`; name ≤ 63 like a value (non-empty), prefix a DNS
/// subdomain ≤ 253.
pub(crate) fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            })
    });
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// Label values: ≤ 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub(crate) fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_keep_their_suffix_within_the_cap() {
        let long = "a".repeat(63);
        assert_eq!(numbered(&long, 2), format!("{}-2", "a".repeat(61)));
        assert_eq!(numbered(&long, 100).len(), MAX_NAME);
        assert!(numbered(&long, 100).ends_with("-100"));
        // A dash left at the cut is dropped, so no `--` appears.
        let dashed = format!("{}-b", "a".repeat(60));
        assert_eq!(numbered(&dashed, 10), format!("{}-10", "a".repeat(60)));
        assert_eq!(numbered("echo", 3), "echo-3");
    }

    #[test]
    fn unique_names_of_any_length_are_distinct_and_short() {
        for len in 60..=63 {
            let mut used = HashMap::new();
            let names: Vec<String> = (0..100)
                .map(|_| unique("x".repeat(len), &mut used))
                .collect();
            let distinct: std::collections::HashSet<&String> = names.iter().collect();
            assert_eq!(distinct.len(), 100, "{len}");
            assert!(names.iter().all(|n| n.len() <= MAX_NAME), "{len}");
        }
    }
}
