//! Splitting text over Telegram's message length into several messages, at line boundaries.

/// Telegram's longest message text. Counted in UTF-16 code units, which is never less than
/// Telegram's own count, so a piece within it is always accepted.
pub const MAX_MESSAGE_LEN: usize = 4096;

fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `text` into pieces of at most `max` UTF-16 units, at line ends where possible, else at
/// the last space, else anywhere between characters. The pieces concatenate back to `text`.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    assert!(max >= 2, "a piece must hold at least one character");
    if len(text) <= max {
        return vec![text.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if len(&current) + len(line) <= max {
            current.push_str(line);
            continue;
        }
        if !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        let mut rest = line;
        while len(rest) > max {
            let cut = cut_point(rest, max);
            pieces.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        current.push_str(rest);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Byte index at which to cut `line` so the head fits in `max` units: after the last space if any.
fn cut_point(line: &str, max: usize) -> usize {
    let mut units = 0;
    let mut hard = 0;
    let mut soft = None;
    for (i, c) in line.char_indices() {
        if units + c.len_utf16() > max {
            break;
        }
        units += c.len_utf16();
        hard = i + c.len_utf8();
        if c == ' ' {
            soft = Some(hard);
        }
    }
    soft.unwrap_or(hard)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_text("hello", MAX_MESSAGE_LEN), vec!["hello"]);
    }

    #[test]
    fn long_text_splits_at_line_ends() {
        let line = format!("{}\n", "x".repeat(99));
        let text = line.repeat(100); // 10,000 characters in lines of 100
        let pieces = split_text(&text, MAX_MESSAGE_LEN);
        assert_eq!(pieces.len(), 3);
        assert!(
            pieces
                .iter()
                .all(|p| p.ends_with('\n') && len(p) <= MAX_MESSAGE_LEN)
        );
        assert_eq!(pieces[0].len(), 4000);
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn one_long_line_splits_at_spaces() {
        let text = "word ".repeat(2000);
        let pieces = split_text(&text, MAX_MESSAGE_LEN);
        assert!(pieces.len() >= 3);
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(' ')));
        assert_eq!(pieces.concat(), text);
    }

    proptest! {
        #[test]
        fn pieces_fit_and_rebuild_the_text(text in "(\\PC{0,40}\n?){0,60}", max in 2usize..64) {
            let pieces = split_text(&text, max);
            prop_assert_eq!(pieces.concat(), text.clone());
            for p in &pieces {
                prop_assert!(len(p) <= max, "piece {:?} longer than {}", p, max);
            }
        }
    }
}
