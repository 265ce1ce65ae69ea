//! Kubernetes resource quantities (`500m`, `2`, `4Gi`, `1e3`): checked before anything is rendered,
//! so a typo fails here with a hint instead of at the API server.

/// Parses a quantity to its value in base units (cores, bytes, devices).
/// Returns `None` for anything Kubernetes would reject, and for negative values.
pub(crate) fn parse(text: &str) -> Option<f64> {
    let s = text.trim();
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    if number.is_empty() || number == "+" || number.matches('.').count() > 1 {
        return None;
    }
    let digits = number.trim_start_matches('+');
    if digits.is_empty() || digits == "." || digits.contains('+') {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            10f64.powi(e)
        }
        _ => return None,
    };
    let value = value * multiplier;
    // Kubernetes keeps a quantity in an int64 (of milli-units for the smallest suffixes):
    // `1e400` or `99999999999999999999999Ei` is refused by the API server.
    (value.is_finite() && value <= MAX).then_some(value)
}

/// The largest quantity Kubernetes stores: 2^63 - 1 base units.
const MAX: f64 = 9.223_372_036_854_775e18;

/// A GPU count must be a whole number of devices; 0 is a job that needs none (it drops the
/// notebook's GPUs).
pub(crate) fn is_gpu_count(text: &str) -> bool {
    parse(text).is_some_and(|v| v.fract() == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_forms() {
        for (text, value) in [
            ("2", 2.0),
            ("0.5", 0.5),
            ("500m", 0.5),
            ("1Gi", 1024.0 * 1024.0 * 1024.0),
            ("4G", 4e9),
            ("1288490188800m", 1_288_490_188.8),
            ("1e3", 1000.0),
            ("+1", 1.0),
            (".5", 0.5),
        ] {
            let got = parse(text).unwrap_or(f64::NAN);
            assert!((got - value).abs() < 1e-6, "{text}: {got} != {value}");
        }
    }

    #[test]
    fn rejects_typos() {
        for text in ["", "two", "4GB", "1.2.3", "-1", "4 Gi", "m", "1gi", "1.5x"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn gpus_are_whole() {
        assert!(is_gpu_count("1"));
        assert!(is_gpu_count("2"));
        assert!(is_gpu_count("0"), "0: the job needs no GPU");
        assert!(!is_gpu_count("0.5"));
        assert!(!is_gpu_count("500m"));
        assert!(!is_gpu_count("x"));
        assert!(!is_gpu_count("-1"));
    }
}
