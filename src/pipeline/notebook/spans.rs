//! Byte ranges of JSON values inside a text that serde_json has already accepted, so a notebook
//! can be edited by splicing text instead of re-serialising it.
//!
//! serde_json's `RawValue` would give these ranges, but it needs the `raw_value` feature, which
//! this crate does not enable. Once serde_json has checked the syntax, finding where values
//! start and end needs only strings (with their escapes) and bracket nesting, which is what this
//! scanner follows. Every structural character of JSON is ASCII, and UTF-8 never uses an ASCII
//! byte inside a multi-byte character, so scanning bytes is exact and every range ends on a
//! character boundary. Each function returns `None` on text that is not valid JSON instead of
//! panicking; callers check with serde_json first, so that never happens in practice.

use std::ops::Range;

/// One `"key": value` of an object: the key's range (with its quotes) and the value's range.
pub(super) struct Member {
    pub(super) key: Range<usize>,
    pub(super) value: Range<usize>,
}

/// The range of the whole document's value, without surrounding whitespace.
pub(super) fn document(text: &str) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let start = skip_ws(bytes, 0);
    let end = value_end(bytes, start)?;
    Some(start..end)
}

/// The members of the object at `span`, in the order written (duplicates included).
pub(super) fn object_members(text: &str, span: Range<usize>) -> Option<Vec<Member>> {
    let bytes = text.as_bytes();
    if bytes.get(span.start) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = skip_ws(bytes, span.start + 1);
    if bytes.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        let key_end = string_end(bytes, i)?;
        let colon = skip_ws(bytes, key_end);
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(bytes, colon + 1);
        let value_end = value_end(bytes, value_start)?;
        members.push(Member {
            key: i..key_end,
            value: value_start..value_end,
        });
        let next = skip_ws(bytes, value_end);
        match bytes.get(next) {
            Some(b',') => i = skip_ws(bytes, next + 1),
            Some(b'}') => return Some(members),
            _ => return None,
        }
    }
}

/// The elements of the array at `span`, in order.
pub(super) fn array_elements(text: &str, span: Range<usize>) -> Option<Vec<Range<usize>>> {
    let bytes = text.as_bytes();
    if bytes.get(span.start) != Some(&b'[') {
        return None;
    }
    let mut elements = Vec::new();
    let mut i = skip_ws(bytes, span.start + 1);
    if bytes.get(i) == Some(&b']') {
        return Some(elements);
    }
    loop {
        let end = value_end(bytes, i)?;
        elements.push(i..end);
        let next = skip_ws(bytes, end);
        match bytes.get(next) {
            Some(b',') => i = skip_ws(bytes, next + 1),
            Some(b']') => return Some(elements),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Where the value starting at `start` ends (exclusive).
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0_usize;
            let mut i = start;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // A number, `true`, `false` or `null`: it runs to the next delimiter.
        _ => {
            let mut i = start;
            while let Some(b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// Where the string whose opening quote is at `start` ends (exclusive, after the closing quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}
