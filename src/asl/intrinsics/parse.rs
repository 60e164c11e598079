//! The intrinsic call parser: `States.Name(arg, ...)` with string, number, boolean and null
//! literals, paths and nested calls as arguments.

use serde_json::Value;

use super::{Arg, Func, Intrinsic, Piece, MAX_NESTING};
use crate::asl::path::Path;

/// The character an escape in a string argument stands for, its backslash read: `\{`,
/// `\}`, `\'` and `\\` the character itself, and the escapes of a JSON string as AWS decodes
/// them: `\"`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX` (a surrogate pair joined).
fn escape(chars: &mut dyn Iterator<Item = char>) -> Result<char, String> {
    let open = || "an open escape backslash in a string argument".to_string();
    Ok(match chars.next().ok_or_else(open)? {
        c @ ('{' | '}' | '\'' | '\\' | '"' | '/') => c,
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'u' => unicode_escape(chars)?,
        _ => return Err(open()),
    })
}

/// The character of a `\uXXXX` escape, its `\u` read; a high surrogate must be followed by
/// the `\uXXXX` of a low one, and the pair is one character.
fn unicode_escape(chars: &mut dyn Iterator<Item = char>) -> Result<char, String> {
    let high = hex4(chars)?;
    let code = if (0xD800..0xDC00).contains(&high) {
        let unpaired = || format!("\\u{high:04X} is not followed by a low surrogate");
        let (Some('\\'), Some('u')) = (chars.next(), chars.next()) else {
            return Err(unpaired());
        };
        let low = hex4(chars)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(unpaired());
        }
        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    } else {
        high
    };
    char::from_u32(code).ok_or_else(|| format!("\\u{code:04X} is not a character on its own"))
}

fn hex4(chars: &mut dyn Iterator<Item = char>) -> Result<u32, String> {
    let digits: String = chars.take(4).collect();
    if digits.len() != 4 {
        return Err("a \\u escape needs four hex digits".into());
    }
    u32::from_str_radix(&digits, 16).map_err(|_| format!("\\u{digits} is not a hex escape"))
}

/// Reads a Format template: `{}` is a placeholder; with `escapes`, an escape stands for its
/// character (`\{` and `\}` for a brace that is no placeholder).
pub(super) fn format_pieces(s: &str, escapes: bool) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => text.push(escape(&mut chars)?),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Hole);
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

pub(super) struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            depth: 0,
        }
    }

    pub(super) fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    pub(super) fn call(&mut self) -> Result<Intrinsic, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "more than {MAX_NESTING} nested intrinsic functions"
            ));
        }
        let start = self.pos;
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(self.rest().len());
        let name = &self.src[start..start + name_len];
        let func = Func::from_name(name).ok_or_else(|| {
            if name.is_empty() {
                "expected a function name such as States.Format".to_string()
            } else {
                format!("unknown intrinsic function {name}")
            }
        })?;
        self.pos += name_len;
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected ( after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("expected , or ) in the arguments of {name}")),
                }
            }
        }
        check_args(func, name, &args)?;
        self.depth -= 1;
        let end = self.pos;
        Ok(Intrinsic {
            text: self.src[start..end].to_string(),
            func,
            args,
        })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some('S') if self.rest().starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest().starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Lit(v));
                    }
                }
                Err(format!("unexpected argument '{}'", self.rest()))
            }
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.push(escape(&mut (&mut chars).map(|(_, c)| c))?),
                '\'' => {
                    let raw = &self.src[start..start + i];
                    self.pos = start + i + 1;
                    let pieces = format_pieces(raw, true)?;
                    return Ok(Arg::Str { value, pieces });
                }
                _ => value.push(c),
            }
        }
        Err("unterminated string argument".into())
    }

    fn number(&mut self) -> Result<Arg, String> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(self.rest().len());
        let text = &self.rest()[..len];
        let v: Value = serde_json::from_str(text).map_err(|_| format!("bad number {text}"))?;
        if !v.is_number() {
            return Err(format!("bad number {text}"));
        }
        self.pos += len;
        Ok(Arg::Lit(v))
    }

    fn path(&mut self) -> Result<Arg, String> {
        let (mut square, mut round, mut quote) = (0i32, 0i32, None::<char>);
        let mut end = self.rest().len();
        let mut escaped = false;
        for (i, c) in self.rest().char_indices() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' => quote = Some(c),
                '[' => square += 1,
                ']' => square -= 1,
                '(' => round += 1,
                ')' if round > 0 => round -= 1,
                ',' | ')' if square == 0 && round == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let text = self.rest()[..end].trim_end().to_string();
        let path = Path::parse(&text).map_err(|e| e.to_string())?;
        self.pos += end;
        Ok(Arg::Path(path))
    }
}

/// The argument count each function takes, and a literal Format template's placeholders
/// against the values given (a template from a path is checked when it is evaluated).
fn check_args(func: Func, name: &str, args: &[Arg]) -> Result<(), String> {
    let (min, max) = func.arity();
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "{name} takes {expected} argument(s), got {}",
            args.len()
        ));
    }
    if func == Func::Format {
        match &args[0] {
            Arg::Str { pieces, .. } => {
                let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
                if holes != args.len() - 1 {
                    return Err(format!(
                        "the template has {holes} placeholders but {} values were given",
                        args.len() - 1
                    ));
                }
            }
            Arg::Lit(_) => {
                return Err("the first argument of States.Format must be a string".into())
            }
            _ => {}
        }
    }
    Ok(())
}
