//! SQL `LIKE` / `ILIKE` patterns: `%` any run, `_` one character, `\` escapes; `ILIKE` folds case
//! (accented letters too) but never accents.

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    toks: Vec<Tok>,
    fold: bool,
    /// `%literal%` with no other wildcard: a plain substring test.
    contains: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Any,
    One,
    Ch(char),
}

impl Pattern {
    /// `pattern` as SQL sees it; `fold` for ILIKE.
    pub fn new(pattern: &str, fold: bool) -> Pattern {
        let text = match fold {
            true => pattern.to_lowercase(),
            false => pattern.to_string(),
        };
        let toks = tokenize(&text);
        let contains = plain_contains(&toks);
        Pattern {
            toks,
            fold,
            contains,
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        let folded;
        let s = match self.fold {
            true => {
                folded = s.to_lowercase();
                folded.as_str()
            }
            false => s,
        };
        if let Some(lit) = &self.contains {
            return s.contains(lit.as_str());
        }
        let chars: Vec<char> = s.chars().collect();
        wildcard(&self.toks, &chars)
    }
}

fn tokenize(p: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Ch(chars.next().unwrap_or('\\')),
            c => Tok::Ch(c),
        });
    }
    toks
}

fn plain_contains(toks: &[Tok]) -> Option<String> {
    let [Tok::Any, inner @ .., Tok::Any] = toks else {
        return None;
    };
    inner
        .iter()
        .map(|t| match t {
            Tok::Ch(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn wildcard(p: &[Tok], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(Tok::One) => (pi, si) = (pi + 1, si + 1),
            Some(Tok::Ch(c)) if *c == s[si] => (pi, si) = (pi + 1, si + 1),
            Some(Tok::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    star = Some((sp, ss + 1));
                    (pi, si) = (sp + 1, ss + 1);
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn underscore_is_a_wildcard_and_like_is_case_sensitive() {
        let p = Pattern::new("E_COM0%", false);
        assert!(p.matches("E-COM06"));
        assert!(!p.matches("e-com06"));
        assert!(!p.matches("E-COM1"));
    }

    #[test]
    fn ilike_folds_accented_capitals_but_not_accents() {
        let p = Pattern::new("%ÉCRAN%", true);
        assert!(p.matches("Support d'écran"));
        assert!(!Pattern::new("%ecran%", true).matches("Support d'écran"));
    }

    #[test]
    fn percent_runs_backtrack() {
        assert!(Pattern::new("%a%b_c%", false).matches("xxaxxbxbzc"));
        assert!(!Pattern::new("a%b", false).matches("abc"));
        assert!(Pattern::new("%", false).matches(""));
    }
}
