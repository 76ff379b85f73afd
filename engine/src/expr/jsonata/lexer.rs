//! Tokenizer for JSONata source text; `/` is read as a regex where an operand is expected.

use super::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Punctuation and operators, including `and`, `or`, `in`.
    Op(&'static str),
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    True,
    False,
    Null,
    Regex {
        pattern: String,
        flags: String,
    },
    End,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    /// Character offset just after the token (jsonata's `position`).
    pub pos: usize,
}

const OPERATORS: &[&str] = &[
    "..", ":=", "!=", ">=", "<=", "**", "~>", ".", "[", "]", "{", "}", "(", ")", ",", "@", "#",
    ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!", "~",
];

fn is_op_char(c: char) -> bool {
    matches!(
        c,
        '.' | '['
            | ']'
            | '{'
            | '}'
            | '('
            | ')'
            | ','
            | '@'
            | '#'
            | ';'
            | ':'
            | '?'
            | '+'
            | '-'
            | '*'
            | '/'
            | '%'
            | '|'
            | '='
            | '<'
            | '>'
            | '^'
            | '&'
            | '!'
            | '~'
    )
}

pub struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// Lone UTF-16 surrogates written as `\uD800` escapes are kept as private-use characters
/// (U+10FC00 + offset) so that functions such as `$encodeUrl` can reject them.
pub const SURROGATE_BASE: u32 = 0x10_F800;

impl Lexer {
    pub fn new(src: &str) -> Lexer {
        Lexer {
            chars: src.chars().collect(),
            pos: 0,
        }
    }

    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The next token; `infix` tells whether an operator is expected (so `/` is division).
    pub fn next(&mut self, infix: bool) -> Result<Token> {
        loop {
            // skip whitespace
            while let Some(c) = self.at(self.pos) {
                if c.is_whitespace() {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            if self.at(self.pos) == Some('/') && self.at(self.pos + 1) == Some('*') {
                let start = self.pos;
                self.pos += 2;
                loop {
                    match self.at(self.pos) {
                        None => return Err(Error::new("S0106").at(start)),
                        Some('*') if self.at(self.pos + 1) == Some('/') => {
                            self.pos += 2;
                            break;
                        }
                        _ => self.pos += 1,
                    }
                }
                continue;
            }
            break;
        }
        let c = match self.at(self.pos) {
            None => {
                return Ok(Token {
                    tok: Tok::End,
                    pos: self.pos,
                })
            }
            Some(c) => c,
        };
        if !infix && c == '/' {
            self.pos += 1;
            return self.regex();
        }
        // operators (two-char first)
        if is_op_char(c) {
            let next = self.at(self.pos + 1);
            for op in OPERATORS.iter().filter(|o| o.len() == 2) {
                let mut it = op.chars();
                if it.next() == Some(c) && it.next() == next {
                    self.pos += 2;
                    return Ok(Token {
                        tok: Tok::Op(op),
                        pos: self.pos,
                    });
                }
            }
            let op = OPERATORS
                .iter()
                .find(|o| o.len() == 1 && o.starts_with(c))
                .copied()
                .unwrap_or(".");
            self.pos += 1;
            return Ok(Token {
                tok: Tok::Op(op),
                pos: self.pos,
            });
        }
        if c == '"' || c == '\'' {
            return self.string(c);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '`' {
            self.pos += 1;
            let start = self.pos;
            while let Some(d) = self.at(self.pos) {
                if d == '`' {
                    let name: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    return Ok(Token {
                        tok: Tok::Name(name),
                        pos: self.pos,
                    });
                }
                self.pos += 1;
            }
            return Err(Error::new("S0105").at(self.pos));
        }
        // names and variables
        let is_var = c == '$';
        let start = if is_var { self.pos + 1 } else { self.pos };
        let mut i = start;
        while let Some(d) = self.at(i) {
            if d.is_whitespace() || is_op_char(d) {
                break;
            }
            i += 1;
        }
        let name: String = self.chars[start..i].iter().collect();
        self.pos = i;
        let tok = if is_var {
            Tok::Var(name)
        } else {
            match name.as_str() {
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "in" => Tok::Op("in"),
                "true" => Tok::True,
                "false" => Tok::False,
                "null" => Tok::Null,
                _ => Tok::Name(name),
            }
        };
        Ok(Token { tok, pos: self.pos })
    }

    fn regex(&mut self) -> Result<Token> {
        let start = self.pos;
        let mut depth: i32 = 0;
        while let Some(c) = self.at(self.pos) {
            if c == '/' && depth == 0 {
                let mut backslashes = 0;
                while self.pos > backslashes && self.at(self.pos - backslashes - 1) == Some('\\') {
                    backslashes += 1;
                }
                if backslashes % 2 == 0 {
                    let pattern: String = self.chars[start..self.pos].iter().collect();
                    if pattern.is_empty() {
                        return Err(Error::new("S0301").at(self.pos));
                    }
                    self.pos += 1;
                    let fstart = self.pos;
                    while matches!(self.at(self.pos), Some('i') | Some('m')) {
                        self.pos += 1;
                    }
                    let flags: String = self.chars[fstart..self.pos].iter().collect();
                    return Ok(Token {
                        tok: Tok::Regex { pattern, flags },
                        pos: self.pos,
                    });
                }
            }
            let escaped = self.pos > 0 && self.at(self.pos - 1) == Some('\\');
            if matches!(c, '(' | '[' | '{') && !escaped {
                depth += 1;
            }
            if matches!(c, ')' | ']' | '}') && !escaped {
                depth -= 1;
            }
            self.pos += 1;
        }
        Err(Error::new("S0302").at(self.pos))
    }

    fn string(&mut self, quote: char) -> Result<Token> {
        self.pos += 1;
        let mut s = String::new();
        while let Some(c) = self.at(self.pos) {
            if c == '\\' {
                self.pos += 1;
                let e = match self.at(self.pos) {
                    Some(e) => e,
                    None => break,
                };
                match e {
                    '"' | '\\' | '/' => s.push(e),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'u' => {
                        let code = self
                            .hex4(self.pos + 1)
                            .ok_or_else(|| Error::new("S0104").at(self.pos))?;
                        self.pos += 4;
                        if (0xD800..0xDC00).contains(&code) {
                            // high surrogate: try to pair with a following \uDCxx
                            if self.at(self.pos + 1) == Some('\\')
                                && self.at(self.pos + 2) == Some('u')
                            {
                                if let Some(low) = self.hex4(self.pos + 3) {
                                    if (0xDC00..0xE000).contains(&low) {
                                        let cp = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                        s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                        self.pos += 6;
                                        self.pos += 1;
                                        continue;
                                    }
                                }
                            }
                            s.push(
                                char::from_u32(SURROGATE_BASE + (code - 0xD800))
                                    .unwrap_or('\u{FFFD}'),
                            );
                        } else if (0xDC00..0xE000).contains(&code) {
                            s.push(
                                char::from_u32(SURROGATE_BASE + (code - 0xD800))
                                    .unwrap_or('\u{FFFD}'),
                            );
                        } else {
                            s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                    }
                    other => return Err(Error::new("S0103").tok(other.to_string()).at(self.pos)),
                }
                self.pos += 1;
                continue;
            }
            if c == quote {
                self.pos += 1;
                return Ok(Token {
                    tok: Tok::Str(s),
                    pos: self.pos,
                });
            }
            s.push(c);
            self.pos += 1;
        }
        Err(Error::new("S0101").at(self.pos))
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            v = v * 16 + self.at(at + i)?.to_digit(16)?;
        }
        Some(v)
    }

    fn number(&mut self) -> Result<Token> {
        // -?(0|([1-9][0-9]*))(\.[0-9]+)?([Ee][-+]?[0-9]+)?
        let start = self.pos;
        let mut i = self.pos;
        if self.at(i) == Some('0') {
            i += 1;
        } else {
            while self.at(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        if self.at(i) == Some('.') && self.at(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
            while self.at(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some('e') | Some('E')) {
            let mut j = i + 1;
            if matches!(self.at(j), Some('+') | Some('-')) {
                j += 1;
            }
            if self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
                i = j;
            }
        }
        let text: String = self.chars[start..i].iter().collect();
        self.pos = i;
        let n: f64 = text.parse().unwrap_or(f64::NAN);
        if !n.is_finite() {
            return Err(Error::new("S0102").tok(text).at(self.pos));
        }
        Ok(Token {
            tok: Tok::Num(n),
            pos: self.pos,
        })
    }
}
