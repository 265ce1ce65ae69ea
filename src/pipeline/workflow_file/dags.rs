//! One `dags:` entry: `1 >> 2` (the original format), chains `prep >> train >> eval` and groups
//! `prep >> [a, b] >> eval`, turned into `from → to` pairs. Only the shape is checked here;
//! whether the references name jobs is `dag`'s business.

use crate::pipeline::JobRef;

/// The `(from, to)` pairs of one entry, in the order written. Each step links every job of one
/// element to every job of the next, so `a >> [b, c] >> d` gives a→b, a→c, b→d, c→d.
pub(super) fn edges(entry: &str) -> Result<Vec<(JobRef, JobRef)>, String> {
    let elements = entry
        .split(">>")
        .map(|element| element_refs(element, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if elements.len() < 2 {
        return Err(format!(
            "`dags` entry `{}` has no `>>`; write e.g. `1 >> 2` (run job 1, then job 2)",
            entry.trim()
        ));
    }
    let mut pairs = Vec::new();
    for step in elements.windows(2) {
        for from in &step[0] {
            for to in &step[1] {
                pairs.push((from.clone(), to.clone()));
            }
        }
    }
    Ok(pairs)
}

/// The jobs of one element between `>>`s: a single reference or a `[a, b]` group.
fn element_refs(element: &str, entry: &str) -> Result<Vec<JobRef>, String> {
    let element = element.trim();
    let context = || format!("in `dags` entry `{}`", entry.trim());
    if element.is_empty() {
        return Err(format!(
            "a job is missing before or after `>>` {}",
            context()
        ));
    }
    if let Some(inner) = element.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(format!("`{element}` has no closing `]` {}", context()));
        };
        let refs = inner
            .split(',')
            .map(|item| single_ref(item.trim(), entry))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(refs);
    }
    Ok(vec![single_ref(element, entry)?])
}

fn single_ref(token: &str, entry: &str) -> Result<JobRef, String> {
    let context = || format!("in `dags` entry `{}`", entry.trim());
    if token.is_empty() {
        return Err(format!("a group has an empty item {}", context()));
    }
    if let Some(bad) = token.chars().find(|c| matches!(c, '[' | ']' | ',' | '>')) {
        let hint = if bad == '>' {
            "; use `>>` between jobs"
        } else {
            "; groups are written `[a, b]`"
        };
        return Err(format!(
            "unexpected `{bad}` in `{token}` {}{hint}",
            context()
        ));
    }
    Ok(job_ref(token))
}

/// A reference as written: digits are a 1-based index (the original format), anything else a
/// name. Shared with `depends`, so both spell references the same way.
pub(super) fn job_ref(token: &str) -> JobRef {
    let token = token.trim();
    if !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && let Ok(index) = token.parse()
    {
        return JobRef::Index(index);
    }
    JobRef::Name(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> JobRef {
        JobRef::Name(s.to_owned())
    }

    #[test]
    fn original_index_pairs() {
        assert_eq!(
            edges("1 >> 2"),
            Ok(vec![(JobRef::Index(1), JobRef::Index(2))])
        );
        // The original stripped all spaces, so `1>>2` worked too.
        assert_eq!(
            edges("1>>2"),
            Ok(vec![(JobRef::Index(1), JobRef::Index(2))])
        );
    }

    #[test]
    fn chains_and_groups() {
        assert_eq!(
            edges("prep >> train >> eval"),
            Ok(vec![
                (name("prep"), name("train")),
                (name("train"), name("eval"))
            ])
        );
        assert_eq!(
            edges("prep >> [a, 2] >> eval"),
            Ok(vec![
                (name("prep"), name("a")),
                (name("prep"), JobRef::Index(2)),
                (name("a"), name("eval")),
                (JobRef::Index(2), name("eval")),
            ])
        );
    }

    #[test]
    fn shape_errors() {
        for (entry, needle) in [
            ("1", "has no `>>`"),
            ("1 > 2", "use `>>` between jobs"),
            ("1 >>", "missing"),
            (">> 2", "missing"),
            ("a >> [b, c", "no closing `]`"),
            ("a >> [b, ] >> c", "empty item"),
            ("a >>> b", "unexpected `>`"),
            ("a, b >> c", "unexpected `,`"),
        ] {
            let err = edges(entry).expect_err(entry);
            assert!(err.contains(needle), "{entry}: {err}");
        }
    }

    #[test]
    fn references() {
        assert_eq!(job_ref(" 3 "), JobRef::Index(3));
        assert_eq!(job_ref("0"), JobRef::Index(0));
        assert_eq!(job_ref("train-1"), name("train-1"));
        // Too large for an index: kept as written, `dag` reports it as unknown.
        assert_eq!(
            job_ref("99999999999999999999999"),
            name("99999999999999999999999")
        );
    }
}
