//! POSIX shell quoting, both ways: quoting a value so `/bin/sh` reads it back as one word
//! with exactly these bytes, and scanning text for the characters quotes and escapes leave
//! bare (what the `-c` grammar's `>>`, `[`, `,` and `]` may be). Pure.

/// Quotes `s` for a POSIX shell so that it stays one word with exactly these bytes.
/// Safe words are left bare for readability.
pub fn quote(s: &str) -> String {
    if is_safe(s) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `quote(s).len()`, without building it.
pub(crate) fn quoted_len(s: &str) -> usize {
    if is_safe(s) {
        s.len()
    } else {
        quoted_always_len(s)
    }
}

/// `quote_program(s).len()`, without building it.
pub(crate) fn quoted_program_len(s: &str) -> usize {
    if s.contains('=') {
        quoted_always_len(s)
    } else {
        quoted_len(s)
    }
}

/// The length of `'s'` with each `'` written as `'\''`.
fn quoted_always_len(s: &str) -> usize {
    s.len() + 2 + 3 * s.bytes().filter(|&b| b == b'\'').count()
}

fn is_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '@' | '%' | '+' | '=')
        })
}

/// Quotes a command's first word: like [`quote`], but a word holding `=` is quoted too so
/// the shell does not take it for a variable assignment.
pub(crate) fn quote_program(s: &str) -> String {
    if s.contains('=') {
        format!("'{}'", s.replace('\'', r"'\''"))
    } else {
        quote(s)
    }
}

/// Marks which chars are bare (outside quotes, not escaped), following POSIX quoting like
/// the tokenizer does; also returns an unclosed quote (its char and index), if any.
pub(crate) fn bare_chars(chars: &[(usize, char)]) -> (Vec<bool>, Option<(char, usize)>) {
    let mut bare = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        match chars[i].1 {
            // The backslash and the char it escapes are both not ours.
            '\\' => i += 2,
            q @ ('\'' | '"') => {
                let open = i;
                i += 1;
                loop {
                    match chars.get(i).map(|p| p.1) {
                        None => return (bare, Some((q, open))),
                        Some(c) if c == q => break,
                        // In double quotes a backslash escapes the next char (`\"`).
                        Some('\\') if q == '"' => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            _ => {
                bare[i] = true;
                i += 1;
            }
        }
    }
    (bare, None)
}
