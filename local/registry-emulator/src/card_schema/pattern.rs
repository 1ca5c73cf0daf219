//! The `pattern` keyword, for the patterns the vendored schema uses (no regex crate in the emulator).

use super::{CardError, schema_error};

/// A `pattern` of the kind the schema uses: `^`/`$` anchors, literals, `.`, bracket classes with ranges,
/// each optionally quantified with `*`, `+`, `?`, `{n}`, `{m,}` or `{m,n}`. Groups, alternation and
/// escape classes such as `\d` are refused at audit time rather than half-understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    anchored_start: bool,
    anchored_end: bool,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    min: usize,
    max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Any,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            // ECMA-262 `.` matches anything but line terminators.
            Atom::Any => !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'),
            Atom::Literal(literal) => c == *literal,
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        }
    }
}

impl Pattern {
    pub(super) fn parse(text: &str) -> Result<Self, CardError> {
        let unsupported =
            |what: &str| schema_error(format!("pattern {text:?}: {what} is not supported"));
        let mut chars: Vec<char> = text.chars().collect();
        let anchored_start = chars.first() == Some(&'^');
        if anchored_start {
            chars.remove(0);
        }
        let anchored_end = chars.last() == Some(&'$') && !ends_escaped(&chars);
        if anchored_end {
            chars.pop();
        }
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let atom = match chars[at] {
                '.' => {
                    at += 1;
                    Atom::Any
                }
                '[' => {
                    let (atom, next) = parse_class(&chars, at + 1)
                        .ok_or_else(|| unsupported("this bracket class"))?;
                    at = next;
                    atom
                }
                '\\' => match chars.get(at + 1) {
                    Some(c) if !c.is_ascii_alphanumeric() => {
                        at += 2;
                        Atom::Literal(*c)
                    }
                    _ => return Err(unsupported("this escape")),
                },
                c @ ('(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' | '^' | '$') => {
                    return Err(unsupported(&format!("{c:?} here")));
                }
                c => {
                    at += 1;
                    Atom::Literal(c)
                }
            };
            let (min, max, next) =
                parse_quantifier(&chars, at).ok_or_else(|| unsupported("this quantifier"))?;
            at = next;
            pieces.push(Piece { atom, min, max });
        }
        Ok(Self {
            anchored_start,
            anchored_end,
            pieces,
        })
    }

    /// ECMA-262 search semantics: unanchored patterns match anywhere in the text.
    pub(super) fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let starts = if self.anchored_start {
            0..=0
        } else {
            0..=chars.len()
        };
        starts
            .into_iter()
            .any(|start| self.match_here(&self.pieces, &chars[start..]))
    }

    fn match_here(&self, pieces: &[Piece], text: &[char]) -> bool {
        let Some((piece, rest)) = pieces.split_first() else {
            return !self.anchored_end || text.is_empty();
        };
        let mut taken = 0;
        while taken < text.len()
            && piece.max.is_none_or(|max| taken < max)
            && piece.atom.matches(text[taken])
        {
            taken += 1;
        }
        taken >= piece.min
            && (piece.min..=taken)
                .rev()
                .any(|count| self.match_here(rest, &text[count..]))
    }
}

fn ends_escaped(chars: &[char]) -> bool {
    let backslashes = chars
        .iter()
        .rev()
        .skip(1)
        .take_while(|c| **c == '\\')
        .count();
    backslashes % 2 == 1
}

/// A class body after `[`: `^` negation, ranges `a-z`, literals, `\` escapes of punctuation.
fn parse_class(chars: &[char], mut at: usize) -> Option<(Atom, usize)> {
    let negated = chars.get(at) == Some(&'^');
    if negated {
        at += 1;
    }
    let mut ranges = Vec::new();
    let read = |at: usize| -> Option<(char, usize)> {
        match *chars.get(at)? {
            '\\' => chars
                .get(at + 1)
                .filter(|c| !c.is_ascii_alphanumeric())
                .map(|c| (*c, at + 2)),
            ']' => None,
            c => Some((c, at + 1)),
        }
    };
    loop {
        if chars.get(at) == Some(&']') && !ranges.is_empty() {
            return Some((Atom::Class { negated, ranges }, at + 1));
        }
        let (low, next) = read(at)?;
        at = next;
        if chars.get(at) == Some(&'-') && chars.get(at + 1).is_some_and(|c| *c != ']') {
            let (high, next) = read(at + 1)?;
            if high < low {
                return None;
            }
            ranges.push((low, high));
            at = next;
        } else {
            ranges.push((low, low));
        }
    }
}

/// The quantifier at `at` (if any): `(min, max, next index)`.
fn parse_quantifier(chars: &[char], at: usize) -> Option<(usize, Option<usize>, usize)> {
    match chars.get(at) {
        Some('*') => Some((0, None, at + 1)),
        Some('+') => Some((1, None, at + 1)),
        Some('?') => Some((0, Some(1), at + 1)),
        Some('{') => {
            let close = chars[at..].iter().position(|c| *c == '}')? + at;
            let body: String = chars[at + 1..close].iter().collect();
            let (min, max) = match body.split_once(',') {
                None => {
                    let n = body.parse().ok()?;
                    (n, Some(n))
                }
                Some((min, "")) => (min.parse().ok()?, None),
                Some((min, max)) => {
                    let (min, max): (usize, usize) = (min.parse().ok()?, max.parse().ok()?);
                    (max >= min).then_some((min, Some(max)))?
                }
            };
            Some((min, max, close + 1))
        }
        _ => Some((1, Some(1), at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_the_forms_the_schema_may_use() {
        let identifier = Pattern::parse("^[a-zA-Z_][a-zA-Z0-9_]*$").unwrap();
        assert!(identifier.is_match("custom_1"));
        assert!(identifier.is_match("_"));
        assert!(!identifier.is_match(""));
        assert!(!identifier.is_match("1abc"));
        assert!(!identifier.is_match("a-b"));
        let bounded = Pattern::parse("^.{1,3}$").unwrap();
        assert!(bounded.is_match("abc"));
        assert!(!bounded.is_match("abcd"));
        let unanchored = Pattern::parse("b+c?").unwrap();
        assert!(unanchored.is_match("aaabbb"));
        assert!(!unanchored.is_match("aaa"));
        let negated = Pattern::parse("^[^\\]x]+$").unwrap();
        assert!(negated.is_match("abc"));
        assert!(!negated.is_match("a]c"));
        for unsupported in ["(a|b)", "\\d+", "a{2", "[z-a]", "a**"] {
            assert!(
                matches!(Pattern::parse(unsupported), Err(CardError::Schema(_))),
                "{unsupported}"
            );
        }
    }
}
