//! Function signatures (`<s-nn?:s>`): parsing and argument validation (T0410, T0411, T0412).

use super::error::{Error, Result};
use super::value::{describe, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quant {
    One,
    Opt,
    Plus,
}

#[derive(Debug, Clone)]
struct Param {
    /// Type symbols accepted (including `m` for missing where allowed).
    set: String,
    quant: Quant,
    kind: char,
    /// Substitute the context value when the argument is missing (`-`).
    context: bool,
    subtype: Option<String>,
}

/// A parsed function signature.
#[derive(Debug, Clone)]
pub struct Signature {
    params: Vec<Param>,
    pub definition: String,
}

fn closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 1;
    let mut p = start;
    while p + 1 < chars.len() {
        p += 1;
        let c = chars[p];
        if c == close {
            depth -= 1;
            if depth == 0 {
                break;
            }
        } else if c == open {
            depth += 1;
        }
    }
    p
}

impl Signature {
    pub fn parse(sig: &str) -> Result<Signature> {
        let chars: Vec<char> = sig.chars().collect();
        let mut params: Vec<Param> = Vec::new();
        let mut pos = 1;
        while pos < chars.len() {
            let c = chars[pos];
            if c == ':' {
                break;
            }
            let simple = |set: &str, kind: char| Param {
                set: set.to_string(),
                quant: Quant::One,
                kind,
                context: false,
                subtype: None,
            };
            match c {
                's' | 'n' | 'b' | 'l' | 'o' => params.push(simple(&format!("{c}m"), c)),
                'a' => params.push(simple("asnblfom", 'a')),
                'f' => params.push(simple("f", 'f')),
                'j' => params.push(simple("asnblom", 'j')),
                'x' => params.push(simple("asnblfom", 'x')),
                '-' => {
                    if let Some(p) = params.last_mut() {
                        p.context = true;
                        p.quant = Quant::Opt;
                    }
                }
                '?' => {
                    if let Some(p) = params.last_mut() {
                        p.quant = Quant::Opt;
                    }
                }
                '+' => {
                    if let Some(p) = params.last_mut() {
                        p.quant = Quant::Plus;
                    }
                }
                '(' => {
                    let end = closing(&chars, pos, '(', ')');
                    let choice: String = chars[pos + 1..end.min(chars.len())].iter().collect();
                    if choice.contains('<') {
                        return Err(Error::new("S0402").set("value", &choice));
                    }
                    params.push(Param {
                        set: format!("{choice}m"),
                        quant: Quant::One,
                        kind: '(',
                        context: false,
                        subtype: None,
                    });
                    pos = end;
                }
                '<' => {
                    let ok = params
                        .last()
                        .is_some_and(|p| p.kind == 'a' || p.kind == 'f');
                    if !ok {
                        return Err(Error::new("S0401")
                            .set("value", params.last().map(|p| p.kind).unwrap_or(' ')));
                    }
                    let end = closing(&chars, pos, '<', '>');
                    let sub: String = chars[pos + 1..end.min(chars.len())].iter().collect();
                    if let Some(p) = params.last_mut() {
                        p.subtype = Some(sub);
                    }
                    pos = end;
                }
                _ => {}
            }
            pos += 1;
        }
        Ok(Signature {
            params,
            definition: sig.to_string(),
        })
    }

    /// The number of parameters (the arity a higher-order function sees).
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Greedy backtracking match of the symbols against the params (like jsonata's regex);
    /// returns the matched length per param. `anchored` requires consuming all symbols.
    fn matches(&self, syms: &[char], upto: usize, anchored: bool) -> Option<Vec<usize>> {
        let mut out = Vec::with_capacity(upto);
        if self.match_from(0, 0, syms, upto, anchored, &mut out) {
            Some(out)
        } else {
            None
        }
    }

    fn match_from(
        &self,
        pi: usize,
        si: usize,
        syms: &[char],
        upto: usize,
        anchored: bool,
        out: &mut Vec<usize>,
    ) -> bool {
        if pi == upto {
            return !anchored || si == syms.len();
        }
        let p = &self.params[pi];
        let mut run = 0;
        while si + run < syms.len() && p.set.contains(syms[si + run]) {
            run += 1;
        }
        let candidates: Vec<usize> = match p.quant {
            Quant::One => {
                if run >= 1 {
                    vec![1]
                } else {
                    vec![]
                }
            }
            Quant::Opt => {
                if run >= 1 {
                    vec![1, 0]
                } else {
                    vec![0]
                }
            }
            Quant::Plus => (1..=run).rev().collect(),
        };
        for n in candidates {
            out.push(n);
            if self.match_from(pi + 1, si + n, syms, upto, anchored, out) {
                return true;
            }
            out.pop();
        }
        false
    }

    /// Validates (and fixes up) the arguments of a call; `context` is the input for `-` params.
    pub fn validate(&self, args: Vec<Value>, context: &Value) -> Result<Vec<Value>> {
        let syms: Vec<char> = args.iter().map(|a| a.sig_symbol()).collect();
        let m = match self.matches(&syms, self.params.len(), true) {
            Some(m) => m,
            None => return Err(self.validation_error(&args, &syms)),
        };
        let mut out = Vec::with_capacity(self.params.len());
        let mut ai = 0;
        let mut args = args;
        for (p, &len) in self.params.iter().zip(m.iter()) {
            if len == 0 {
                if p.context {
                    let s = context.sig_symbol();
                    if p.set.contains(s) && s != 'm' || (s == 'm' && p.set.contains('m')) {
                        out.push(context.clone());
                    } else {
                        return Err(Error::new("T0411")
                            .set("index", ai + 1)
                            .val(describe(context)));
                    }
                } else {
                    out.push(args.get_mut(ai).map(std::mem::take).unwrap_or_default());
                    ai += 1;
                }
                continue;
            }
            for k in 0..len {
                let single = syms.get(ai).copied().unwrap_or('m');
                let arg = args.get_mut(ai).map(std::mem::take).unwrap_or_default();
                if p.kind == 'a' {
                    if single == 'm' {
                        out.push(Value::Undefined);
                    } else {
                        let mut ok = true;
                        if let Some(sub) = &p.subtype {
                            let want = sub.chars().next().unwrap_or('x');
                            if single != 'a' {
                                if !(len == 1 && sub.len() == 1 && single == want) {
                                    ok = false;
                                }
                            } else if let Value::Array(a) = &arg {
                                if let Some(first) = a.items.first() {
                                    let t = first.sig_symbol();
                                    if t != want || a.items.iter().any(|v| v.sig_symbol() != t) {
                                        ok = false;
                                    }
                                }
                            }
                        }
                        if !ok {
                            let ty = match p.subtype.as_deref().and_then(|s| s.chars().next()) {
                                Some('a') => "arrays",
                                Some('b') => "booleans",
                                Some('f') => "functions",
                                Some('n') => "numbers",
                                Some('o') => "objects",
                                Some('s') => "strings",
                                _ => "values",
                            };
                            return Err(Error::new("T0412")
                                .set("index", ai + 1)
                                .set("type", ty)
                                .val(describe(&arg)));
                        }
                        if single != 'a' {
                            out.push(Value::array(vec![arg]));
                        } else {
                            out.push(arg);
                        }
                    }
                } else {
                    out.push(arg);
                }
                let _ = k;
                ai += 1;
            }
        }
        Ok(out)
    }

    fn validation_error(&self, args: &[Value], syms: &[char]) -> Error {
        let mut good_to = 0;
        for k in 1..=self.params.len() {
            match self.matches(syms, k, false) {
                None => break,
                Some(m) => good_to = m.iter().sum(),
            }
        }
        let bad = args
            .get(good_to)
            .map(describe)
            .unwrap_or_else(|| "undefined".into());
        Error::new("T0410").set("index", good_to + 1).val(bad)
    }
}
