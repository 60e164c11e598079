//! The path parser: Jayway JsonPath's syntax as Step Functions accepts it (names, indexes,
//! `*`, `..`, unions, slices, filters `[?(...)]`, a trailing `length()`).

use serde_json::Value;

use super::select::{CmpOp, Expr, Operand};
use super::{Key, Seg};

/// How deeply filters may nest.
const MAX_DEPTH: usize = 64;

/// Java string-literal escapes as Jayway JsonPath reads them in quoted names and filter
/// strings: `\b \t \n \f \r \" \' \\` and `\uXXXX` (UTF-16, surrogate pairs
/// joined); any other escaped character stands for itself.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('f') => out.push('\u{c}'),
            Some('r') => out.push('\r'),
            Some('u') => out.push(unicode_escape(&mut chars)?),
            Some(other) => out.push(other),
            // A trailing backslash is kept as it is.
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// The character of a `\uXXXX` escape whose `\u` has been read; a high surrogate must be
/// followed by the `\uXXXX` of a low one.
fn unicode_escape(chars: &mut std::str::Chars<'_>) -> Result<char, String> {
    fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, String> {
        let digits: String = chars.by_ref().take(4).collect();
        if digits.len() != 4 {
            return Err(format!("unable to parse unicode value: {digits}"));
        }
        u32::from_str_radix(&digits, 16)
            .map_err(|_| format!("unable to parse unicode value: {digits}"))
    }
    let unit = hex4(chars)?;
    let code = if (0xD800..0xDC00).contains(&unit) {
        let low = match (chars.next(), chars.next()) {
            (Some('\\'), Some('u')) => hex4(chars)?,
            _ => return Err("a high surrogate must be followed by a low one".into()),
        };
        if !(0xDC00..0xE000).contains(&low) {
            return Err("a high surrogate must be followed by a low one".into());
        }
        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
    } else {
        unit
    };
    char::from_u32(code).ok_or_else(|| format!("\\u{unit:04X} is not a character on its own"))
}

pub(super) struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pub(super) pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Self {
            s: src.as_bytes(),
            src,
            pos: 0,
            depth: 0,
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Segments until the end, or (inside a filter) until a character that ends an operand.
    pub(super) fn segments(&mut self, in_filter: bool) -> Result<Vec<Seg>, String> {
        let mut segs = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'.' => {
                    self.pos += 1;
                    if self.eat(b'.') {
                        let sel = if self.peek() == Some(b'[') {
                            self.pos += 1;
                            self.bracket()?
                        } else {
                            self.dot_selector(in_filter)?
                        };
                        if sel == Seg::Length {
                            return Err("length() cannot follow ..".into());
                        }
                        segs.push(Seg::Descend(Box::new(sel)));
                    } else {
                        segs.push(self.dot_selector(in_filter)?);
                    }
                }
                b'[' => {
                    self.pos += 1;
                    segs.push(self.bracket()?);
                }
                _ if in_filter => break,
                _ => return Err(format!("unexpected '{}'", &self.src[self.pos..])),
            }
        }
        Ok(segs)
    }

    fn dot_selector(&mut self, in_filter: bool) -> Result<Seg, String> {
        if self.eat(b'*') {
            return Ok(Seg::Wildcard);
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            let stop = c == b'.'
                || c == b'['
                || (in_filter
                    && matches!(
                        c,
                        b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b','
                    ));
            if stop {
                break;
            }
            self.pos += 1;
            if c == b'(' {
                if !self.eat(b')') {
                    return Err("only the function length() is supported".into());
                }
                break;
            }
        }
        let name = &self.src[start..self.pos];
        if name.is_empty() {
            return Err("empty name after '.'".into());
        }
        if name.ends_with("()") {
            if name == "length()" {
                return Ok(Seg::Length);
            }
            return Err(format!("unsupported function {name}"));
        }
        Ok(Seg::Child(name.to_string(), '\''))
    }

    fn bracket(&mut self) -> Result<Seg, String> {
        self.ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Seg::Wildcard
            }
            Some(b'?') => {
                self.pos += 1;
                self.ws();
                if !self.eat(b'(') {
                    return Err("expected ( after ?".into());
                }
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err("filter nested too deeply".into());
                }
                let e = self.expr()?;
                self.depth -= 1;
                self.ws();
                if !self.eat(b')') {
                    return Err("expected ) to close the filter".into());
                }
                Seg::Filter(Box::new(e))
            }
            Some(quote @ (b'\'' | b'"')) => {
                let quote = char::from(quote);
                let mut keys = vec![Key::Name(self.quoted()?)];
                self.ws();
                while self.eat(b',') {
                    self.ws();
                    keys.push(Key::Name(self.quoted()?));
                    self.ws();
                }
                if keys.len() == 1 {
                    match keys.pop() {
                        Some(Key::Name(n)) => Seg::Child(n, quote),
                        _ => return Err("bad bracket".into()),
                    }
                } else {
                    Seg::Union(keys, quote)
                }
            }
            Some(c) if c == b'-' || c == b':' || c.is_ascii_digit() => {
                let first = self.opt_int()?;
                self.ws();
                if self.peek() == Some(b':') {
                    self.pos += 1;
                    self.ws();
                    let end = self.opt_int()?;
                    self.ws();
                    let step = if self.eat(b':') {
                        self.ws();
                        self.opt_int()?
                    } else {
                        None
                    };
                    Seg::Slice(first, end, step)
                } else {
                    let first = first.ok_or("expected an index")?;
                    let mut keys = vec![Key::Index(first)];
                    while self.eat(b',') {
                        self.ws();
                        keys.push(Key::Index(self.opt_int()?.ok_or("expected an index")?));
                        self.ws();
                    }
                    if keys.len() == 1 {
                        Seg::Index(first)
                    } else {
                        Seg::Union(keys, '\'')
                    }
                }
            }
            _ => return Err("bad bracket expression".into()),
        };
        self.ws();
        if !self.eat(b']') {
            return Err("expected ]".into());
        }
        Ok(seg)
    }

    fn opt_int(&mut self) -> Result<Option<i64>, String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("bad index {text}"))
    }

    /// A quoted name or string literal. A backslash escapes the next character, so the
    /// closing quote is the first unescaped one; the text between is then unescaped as
    /// Jayway JsonPath does (`Utils.unescape`, the escapes of a Java string literal).
    fn quoted(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or("expected a quote")?;
        self.pos += 1;
        let rest = &self.src[self.pos..];
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c as u32 == u32::from(q) {
                self.pos += i + 1;
                return unescape(&rest[..i]);
            }
        }
        Err("unterminated string".into())
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        loop {
            self.ws();
            if self.s[self.pos..].starts_with(b"||") {
                self.pos += 2;
                let right = self.and_expr()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            self.ws();
            if self.s[self.pos..].starts_with(b"&&") {
                self.pos += 2;
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.ws();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("filter nested too deeply".into());
        }
        let result = if self.peek() == Some(b'!') && self.s.get(self.pos + 1) != Some(&b'=') {
            self.pos += 1;
            self.unary().map(|e| Expr::Not(Box::new(e)))
        } else if self.eat(b'(') {
            let e = self.expr()?;
            self.ws();
            if !self.eat(b')') {
                return Err("expected )".into());
            }
            Ok(e)
        } else {
            let left = self.operand()?;
            self.ws();
            let op = self.cmp_op();
            match op {
                Some(op) => {
                    self.ws();
                    let right = self.operand()?;
                    Ok(Expr::Cmp(left, op, right))
                }
                None => Ok(Expr::Exists(left)),
            }
        };
        self.depth -= 1;
        result
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let rest = &self.s[self.pos..];
        let (op, len) = if rest.starts_with(b"==") {
            (CmpOp::Eq, 2)
        } else if rest.starts_with(b"!=") {
            (CmpOp::Ne, 2)
        } else if rest.starts_with(b"<=") {
            (CmpOp::Le, 2)
        } else if rest.starts_with(b">=") {
            (CmpOp::Ge, 2)
        } else if rest.starts_with(b"<") {
            (CmpOp::Lt, 1)
        } else if rest.starts_with(b">") {
            (CmpOp::Gt, 1)
        } else {
            return None;
        };
        self.pos += len;
        Some(op)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                Ok(Operand::Current(self.segments(true)?))
            }
            Some(b'$') => {
                self.pos += 1;
                Ok(Operand::Root(self.segments(true)?))
            }
            Some(b'\'' | b'"') => Ok(Operand::Lit(Value::String(self.quoted()?))),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while matches!(self.peek(), Some(c) if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    self.pos += 1;
                }
                let text = &self.src[start..self.pos];
                serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(Value::is_number)
                    .map(Operand::Lit)
                    .ok_or_else(|| format!("bad number {text}"))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.s[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(Operand::Lit(v));
                    }
                }
                Err("expected @, $, a string, a number, true, false or null in the filter".into())
            }
        }
    }
}
