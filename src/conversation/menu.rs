//! Typed answers to a menu: its number ("1", "#2", "the second one") or its name, typos allowed.

use super::intent::distance;

const ORDINALS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
];

/// Lower case, emoji and punctuation dropped, filler words ("the", "one", "please") removed.
pub(crate) fn normalise(input: &str) -> String {
    let cleaned: String = input
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .filter(|w| {
            !matches!(
                *w,
                "the"
                    | "one"
                    | "please"
                    | "pls"
                    | "option"
                    | "number"
                    | "i"
                    | "pick"
                    | "choose"
                    | "take"
                    | "want"
                    | "a"
                    | "an"
                    | "ok"
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which of `options` (each a list of names, lower case) `input` picks: by its 1-based number,
/// an ordinal, or a name (one typo allowed in names of five letters or more).
pub(crate) fn pick(input: &str, options: &[Vec<String>]) -> Option<usize> {
    let text = normalise(input);
    if let Ok(n) = text.trim_end_matches('.').parse::<usize>() {
        return (1..=options.len()).contains(&n).then(|| n - 1);
    }
    if let Some(i) = ORDINALS.iter().position(|o| *o == text) {
        return (i < options.len()).then_some(i);
    }
    let exact = options
        .iter()
        .position(|names| names.iter().any(|n| normalise(n) == text));
    if exact.is_some() {
        return exact;
    }
    let near: Vec<usize> = options
        .iter()
        .enumerate()
        .filter(|(_, names)| {
            names.iter().any(|n| {
                let n = normalise(n);
                n.len() >= 5 && distance(&n, &text) <= 1 + n.len() / 8
            })
        })
        .map(|(i, _)| i)
        .collect();
    match near.as_slice() {
        [i] => Some(*i),
        _ => None,
    }
}

/// Names from string literals.
pub(crate) fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ordinals_names_and_typos_pick_an_option() {
        let options = vec![
            names(&["csp", "cash secured put", "cash-secured put"]),
            names(&["cc", "covered call"]),
            names(&["wheel"]),
        ];
        for (input, want) in [
            ("1", Some(0)),
            ("2", Some(1)),
            ("3.", Some(2)),
            ("#1", Some(0)),
            ("1)", Some(0)),
            ("option 2", Some(1)),
            ("the first one", Some(0)),
            ("third", Some(2)),
            ("csp", Some(0)),
            ("CSP", Some(0)),
            ("Cash Secured Put", Some(0)),
            ("cash-secured put", Some(0)),
            ("covered call", Some(1)),
            ("covred call", Some(1)),
            ("wheel 🛞", Some(2)),
            ("the wheel", Some(2)),
            ("4", None),
            ("0", None),
            ("banana", None),
            ("", None),
        ] {
            assert_eq!(pick(input, &options), want, "{input:?}");
        }
    }
}
