//! JSONPath as the Amazon States Language uses it: paths (`InputPath`, `OutputPath`, `.$`
//! fields), reference paths (`ResultPath`, Choice `Variable`, `*Path` fields) and writing a
//! value at a reference path (`ResultPath`).
//!
//! Step Functions evaluates paths with Jayway JsonPath: a *definite* path (names and indexes
//! only) selects one node and fails when it is missing; an *indefinite* path (wildcards, deep
//! scan, unions, slices, filters) selects a list, possibly empty. A path starts at `$` (the
//! state's data), `$$` (the context object) or `$name` (the variable `name`).

use std::fmt;

use serde_json::Value;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data the state works on.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable.
    Variable(String),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path '{path}': {reason}")]
pub struct PathSyntaxError {
    pub path: String,
    pub reason: String,
}

/// A path that parses but cannot be applied to the data at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no results for path {0}")]
    NotFound(String),
    /// The service's wording: a data input that is not an object or array names the whole
    /// path; otherwise the message names the step that met a value it cannot write into.
    #[error("{}", cannot_set_message(path, step.as_deref(), input))]
    CannotSet {
        path: String,
        /// The first step that could not be applied, when the input is an object or array.
        step: Option<String>,
        input: String,
    },
}

fn cannot_set_message(path: &str, step: Option<&str>, input: &str) -> String {
    match step {
        Some(step) => format!("Unable to apply step \"{step}\" to input {input}"),
        None => format!("Unable to apply ReferencePath {path} to input {input}"),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Child(String),
    Index(i64),
    Wildcard,
    /// `..` followed by a selector: the selector applied to every descendant (and self).
    Descend(Box<Seg>),
    Union(Vec<Key>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<Expr>),
    Length,
}

impl Seg {
    /// How a write failure names this step: a field name, or an index in brackets.
    fn step_name(&self) -> String {
        match self {
            Seg::Child(name) => name.clone(),
            Seg::Index(i) => format!("[{i}]"),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(i64),
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segs: Vec<Seg>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MAX_DEPTH: usize = 64;

impl Path {
    /// Parses any path (Jayway syntax subset: names, indexes, `*`, `..`, unions, slices,
    /// filters `[?(...)]` and a trailing `length()`).
    pub fn parse(text: &str) -> Result<Self, PathSyntaxError> {
        let err = |reason: &str| PathSyntaxError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let (root, rest) = split_root(text).ok_or_else(|| err("a path must start with $"))?;
        let mut p = Parser {
            s: rest.as_bytes(),
            src: rest,
            pos: 0,
            depth: 0,
        };
        let segs = p.segments(false).map_err(|r| err(&r))?;
        if p.pos != p.s.len() {
            return Err(err(&format!("unexpected '{}'", &rest[p.pos..])));
        }
        if let Some(i) = segs.iter().position(|s| *s == Seg::Length) {
            if i + 1 != segs.len() {
                return Err(err("length() must come last"));
            }
        }
        Ok(Self {
            text: text.to_string(),
            root,
            segs,
        })
    }

    /// Parses a reference path: only `.name`, `['name']` and `[index]` steps.
    pub fn parse_reference(text: &str) -> Result<Self, PathSyntaxError> {
        let path = Self::parse(text)?;
        if !path.is_reference() {
            return Err(PathSyntaxError {
                path: text.to_string(),
                reason: "a reference path may only use .name, ['name'] and [index] (no @ .. , : ? * or functions)".into(),
            });
        }
        Ok(path)
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for a path that identifies a single node by names and non-negative indexes.
    pub fn is_reference(&self) -> bool {
        self.segs.iter().all(|s| match s {
            Seg::Child(_) => true,
            Seg::Index(i) => *i >= 0,
            _ => false,
        })
    }

    /// True when the path selects at most one node (Jayway's "definite" path).
    pub fn is_definite(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Child(_) | Seg::Index(_) | Seg::Length))
    }

    /// Applies the path to `data` (the value its root names). A definite path that matches
    /// nothing is [`PathError::NotFound`]; an indefinite path returns an array of matches.
    pub fn select(&self, data: &Value) -> Result<Value, PathError> {
        let (body, length) = match self.segs.last() {
            Some(Seg::Length) => (&self.segs[..self.segs.len() - 1], true),
            _ => (&self.segs[..], false),
        };
        let mut current: Vec<&Value> = vec![data];
        for seg in body {
            let mut next = Vec::new();
            for v in current {
                apply_seg(seg, v, data, &mut next);
            }
            current = next;
        }
        let definite = self.is_definite();
        let value = if definite {
            match current.first() {
                Some(v) => (*v).clone(),
                None => return Err(PathError::NotFound(self.text.clone())),
            }
        } else {
            Value::Array(current.into_iter().cloned().collect())
        };
        if length {
            return match &value {
                Value::Array(a) => Ok(Value::from(a.len())),
                Value::String(s) => Ok(Value::from(s.chars().count())),
                Value::Object(o) => Ok(Value::from(o.len())),
                _ => Err(PathError::NotFound(self.text.clone())),
            };
        }
        Ok(value)
    }

    /// Whether a definite path finds a node (Choice `IsPresent`).
    pub fn exists(&self, data: &Value) -> bool {
        self.select(data).is_ok()
    }

    /// `blocked_step` checked every step already: a mismatch afterwards would be a logic
    /// error, which we report instead of panicking.
    fn cannot_set(&self) -> PathError {
        PathError::CannotSet {
            path: self.text.clone(),
            step: None,
            input: String::new(),
        }
    }

    /// Writes `value` into `target` at this reference path, creating missing objects on the
    /// way (`ResultPath`). `$` replaces the whole target.
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let fail = |target: &Value, step: Option<&Seg>| PathError::CannotSet {
            path: self.text.clone(),
            step: step
                .filter(|_| target.is_object() || target.is_array())
                .map(Seg::step_name),
            input: compact(target),
        };
        if self.segs.is_empty() {
            *target = value;
            return Ok(());
        }
        if !self.is_reference() || self.root != Root::Input {
            return Err(fail(target, None));
        }
        // Check first so a failed write leaves the target untouched and the message shows it.
        if let Some(step) = blocked_step(&self.segs, target) {
            return Err(fail(target, Some(step)));
        }
        let mut cur = target;
        let last = self.segs.len() - 1;
        for (i, seg) in self.segs.iter().enumerate() {
            match seg {
                Seg::Child(name) => {
                    let Value::Object(map) = cur else {
                        return Err(self.cannot_set());
                    };
                    if i == last {
                        map.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Default::default()));
                }
                Seg::Index(idx) => {
                    let Value::Array(arr) = cur else {
                        return Err(self.cannot_set());
                    };
                    let Some(slot) = usize::try_from(*idx).ok().and_then(|i| arr.get_mut(i)) else {
                        return Err(self.cannot_set());
                    };
                    if i == last {
                        *slot = value;
                        return Ok(());
                    }
                    cur = slot;
                }
                _ => return Err(self.cannot_set()),
            }
        }
        Ok(())
    }
}

/// The first step of a reference path that cannot be written into `target`, if any.
fn blocked_step<'s>(segs: &'s [Seg], target: &Value) -> Option<&'s Seg> {
    let (first, rest) = segs.split_first()?;
    match (first, target) {
        (Seg::Child(name), Value::Object(map)) => match map.get(name) {
            Some(next) => blocked_step(rest, next),
            // Missing objects are created; the remaining steps must then all be names.
            None => rest.iter().find(|s| !matches!(s, Seg::Child(_))),
        },
        (Seg::Index(i), Value::Array(arr)) => {
            match usize::try_from(*i).ok().and_then(|i| arr.get(i)) {
                Some(next) => blocked_step(rest, next),
                None => Some(first),
            }
        }
        _ => Some(first),
    }
}

/// Compact JSON text of a value (for messages and history details).
pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn split_root(text: &str) -> Option<(Root, &str)> {
    let rest = text.strip_prefix('$')?;
    if let Some(rest) = rest.strip_prefix('$') {
        return Some((Root::Context, rest));
    }
    let name_len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    if name_len > 0 {
        return Some((
            Root::Variable(rest[..name_len].to_string()),
            &rest[name_len..],
        ));
    }
    Some((Root::Input, rest))
}

fn apply_seg<'a>(seg: &Seg, v: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Seg::Child(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x);
            }
        }
        Seg::Index(i) => {
            if let Value::Array(arr) = v {
                if let Some(idx) = resolve_index(*i, arr.len()) {
                    out.push(&arr[idx]);
                }
            }
        }
        Seg::Wildcard => match v {
            Value::Array(arr) => out.extend(arr.iter()),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Seg::Descend(inner) => descend(inner, v, root, out, 0),
        Seg::Union(keys) => {
            for k in keys {
                match k {
                    Key::Name(n) => apply_seg(&Seg::Child(n.clone()), v, root, out),
                    Key::Index(i) => apply_seg(&Seg::Index(*i), v, root, out),
                }
            }
        }
        Seg::Slice(start, end, step) => {
            if let Value::Array(arr) = v {
                for idx in slice_indices(arr.len(), *start, *end, *step) {
                    out.push(&arr[idx]);
                }
            }
        }
        Seg::Filter(expr) => match v {
            Value::Array(arr) => {
                for item in arr {
                    if expr.test(item, root) {
                        out.push(item);
                    }
                }
            }
            Value::Object(_) if expr.test(v, root) => out.push(v),
            _ => {}
        },
        Seg::Length => {}
    }
}

fn descend<'a>(sel: &Seg, v: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 512 {
        return;
    }
    apply_seg(sel, v, root, out);
    match v {
        Value::Array(arr) => arr
            .iter()
            .for_each(|x| descend(sel, x, root, out, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|x| descend(sel, x, root, out, depth + 1)),
        _ => {}
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let idx = if i < 0 { len_i.checked_add(i)? } else { i };
    if (0..len_i).contains(&idx) {
        usize::try_from(idx).ok()
    } else {
        None
    }
}

fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Vec<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    if step == 0 {
        return Vec::new();
    }
    let norm = |x: i64| {
        if x < 0 {
            (len.saturating_add(x)).max(0)
        } else {
            x.min(len)
        }
    };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(len)));
        while i < e {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    } else {
        let mut i = start.map(norm).unwrap_or(len - 1).min(len - 1);
        let e = end.map(norm).unwrap_or(-1);
        while i > e && i >= 0 {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    }
    out
}

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

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
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
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Seg>, String> {
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
        Ok(Seg::Child(name.to_string()))
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
            Some(b'\'' | b'"') => {
                let mut keys = vec![Key::Name(self.quoted()?)];
                self.ws();
                while self.eat(b',') {
                    self.ws();
                    keys.push(Key::Name(self.quoted()?));
                    self.ws();
                }
                if keys.len() == 1 {
                    match keys.pop() {
                        Some(Key::Name(n)) => Seg::Child(n),
                        _ => return Err("bad bracket".into()),
                    }
                } else {
                    Seg::Union(keys)
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
                        Seg::Union(keys)
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Seg>),
    Root(Vec<Seg>),
    Lit(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Cmp(Operand, CmpOp, Operand),
}

impl Operand {
    fn eval<'a>(&'a self, current: &'a Value, root: &'a Value) -> Option<&'a Value> {
        let (start, segs) = match self {
            Operand::Lit(v) => return Some(v),
            Operand::Current(segs) => (current, segs),
            Operand::Root(segs) => (root, segs),
        };
        let mut cur = vec![start];
        for seg in segs {
            let mut next = Vec::new();
            for v in cur {
                apply_seg(seg, v, root, &mut next);
            }
            cur = next;
        }
        cur.first().copied()
    }
}

impl Expr {
    fn test(&self, current: &Value, root: &Value) -> bool {
        match self {
            Expr::Or(a, b) => a.test(current, root) || b.test(current, root),
            Expr::And(a, b) => a.test(current, root) && b.test(current, root),
            Expr::Not(e) => !e.test(current, root),
            Expr::Exists(op) => match op {
                Operand::Lit(v) => !matches!(v, Value::Null | Value::Bool(false)),
                _ => op.eval(current, root).is_some(),
            },
            Expr::Cmp(l, op, r) => {
                let (Some(a), Some(b)) = (l.eval(current, root), r.eval(current, root)) else {
                    return *op == CmpOp::Ne;
                };
                compare(a, *op, b)
            }
        }
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Value::Number(x), Value::Number(y)) => crate::asl::value::cmp_numbers(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        CmpOp::Eq => ord.map_or(a == b, |o| o == Ordering::Equal),
        CmpOp::Ne => ord.map_or(a != b, |o| o != Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, data: &Value) -> Result<Value, PathError> {
        Path::parse(path).unwrap().select(data)
    }

    // "Reference Paths" (Step Functions developer guide, Paths): $.foo => 123, $.bar =>
    // ["a","b","c"], $.car.cdr => true.
    #[test]
    fn reference_paths_from_the_guide() {
        let data = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        assert_eq!(sel("$.foo", &data).unwrap(), json!(123));
        assert_eq!(sel("$.bar", &data).unwrap(), json!(["a", "b", "c"]));
        assert_eq!(sel("$.car.cdr", &data).unwrap(), json!(true));
        assert!(Path::parse_reference("$.car.cdr").is_ok());
        for bad in [
            "$.bar[*]",
            "$..foo",
            "$.bar[0:1]",
            "$.bar[?(@ == 'a')]",
            "$.bar.length()",
        ] {
            assert!(Path::parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roots() {
        assert_eq!(
            Path::parse("$$.Execution.Id").unwrap().root(),
            &Root::Context
        );
        assert_eq!(
            Path::parse("$myVar.x").unwrap().root(),
            &Root::Variable("myVar".into())
        );
        assert_eq!(Path::parse("$").unwrap().root(), &Root::Input);
        assert!(Path::parse("foo").is_err());
        assert!(Path::parse("$.").is_err());
        assert!(Path::parse("$[").is_err());
    }

    // The "Parameters" example of the ASL spec: "$.vals[0]" and "$.vals[3:]".
    #[test]
    fn indexes_slices_wildcards_filters() {
        let data = json!({"vals": [0, 10, 20, 30, 40, 50], "o": {"a": 1, "b": 2},
            "books": [{"p": 8, "t": "x"}, {"p": 12, "t": "y"}, {"t": "z"}]});
        assert_eq!(sel("$.vals[0]", &data).unwrap(), json!(0));
        assert_eq!(sel("$.vals[3:]", &data).unwrap(), json!([30, 40, 50]));
        assert_eq!(sel("$.vals[-1]", &data).unwrap(), json!(50));
        assert_eq!(sel("$.vals[::2]", &data).unwrap(), json!([0, 20, 40]));
        assert_eq!(sel("$.vals[0,2]", &data).unwrap(), json!([0, 20]));
        assert_eq!(sel("$.o.*", &data).unwrap(), json!([1, 2]));
        assert_eq!(sel("$.books[*].t", &data).unwrap(), json!(["x", "y", "z"]));
        assert_eq!(sel("$..p", &data).unwrap(), json!([8, 12]));
        assert_eq!(sel("$.books[?(@.p < 10)].t", &data).unwrap(), json!(["x"]));
        assert_eq!(sel("$.books[?(@.p)].t", &data).unwrap(), json!(["x", "y"]));
        assert_eq!(
            sel("$.books[?(@.t == 'y' || @.p == 8)].t", &data).unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(sel("$.vals.length()", &data).unwrap(), json!(6));
        assert_eq!(sel("$['o']['b']", &data).unwrap(), json!(2));
        assert_eq!(sel("$.missing[*]", &data).unwrap(), json!([]));
        assert!(matches!(
            sel("$.missing", &data),
            Err(PathError::NotFound(_))
        ));
        assert!(matches!(
            sel("$.vals[9]", &data),
            Err(PathError::NotFound(_))
        ));
    }

    // Step Functions reads paths with Jayway JsonPath, whose bracket notation takes the
    // escapes of a Java string literal (PathCompiler.readBracketPropertyToken, then
    // Utils.unescape): `$['a\\"b']` names the field a\"b, `$["a\"b"]` the field a"b.
    #[test]
    fn quoted_names_take_java_escapes() {
        let data =
            json!({"a\\\"b": 1, "a\"b": 2, "it's": 3, "t\tn\nA": 4, "\u{1F600}": 5, "x\\": 6});
        assert_eq!(sel(r#"$['a\\"b']"#, &data).unwrap(), json!(1));
        assert_eq!(sel(r#"$["a\"b"]"#, &data).unwrap(), json!(2));
        assert_eq!(sel(r#"$['it\'s']"#, &data).unwrap(), json!(3));
        assert_eq!(sel(r#"$["it's"]"#, &data).unwrap(), json!(3));
        assert_eq!(sel(r#"$['t\tn\n\u0041']"#, &data).unwrap(), json!(4));
        assert_eq!(sel(r#"$['\uD83D\uDE00']"#, &data).unwrap(), json!(5));
        assert_eq!(sel(r#"$['x\\']"#, &data).unwrap(), json!(6));
        assert_eq!(
            sel(r#"$[?(@ == 'a\"b')]"#, &json!(["a\"b", "c"])).unwrap(),
            json!(["a\"b"])
        );
        for bad in [
            r#"$['\u00G1']"#,
            r#"$['\uD83D']"#,
            r#"$['\u12']"#,
            r#"$['a\']"#,
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
        // The engine prints a path back as it was written.
        let text = r#"$['a\\"b'].c"#;
        let path = Path::parse_reference(text).unwrap();
        assert_eq!(path.to_string(), text);
        assert_eq!(
            path.select(&data).unwrap_err().to_string(),
            format!("no results for path {text}")
        );
        let mut target = json!({});
        path.set(&mut target, json!(7)).unwrap();
        assert_eq!(target, json!({"a\\\"b": {"c": 7}}));
    }

    #[test]
    fn set_creates_objects_and_refuses_non_objects() {
        let mut data = json!({"a": 1});
        Path::parse("$.b.c")
            .unwrap()
            .set(&mut data, json!(2))
            .unwrap();
        assert_eq!(data, json!({"a": 1, "b": {"c": 2}}));
        Path::parse("$")
            .unwrap()
            .set(&mut data, json!("x"))
            .unwrap();
        assert_eq!(data, json!("x"));
        let err = Path::parse("$.a")
            .unwrap()
            .set(&mut data, json!(1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to apply ReferencePath $.a to input \"x\""
        );
        let mut arr = json!({"l": [1, 2]});
        Path::parse("$.l[1]")
            .unwrap()
            .set(&mut arr, json!(9))
            .unwrap();
        assert_eq!(arr, json!({"l": [1, 9]}));
        assert!(Path::parse("$.l[5]")
            .unwrap()
            .set(&mut arr, json!(9))
            .is_err());
        assert!(Path::parse("$.l.x")
            .unwrap()
            .set(&mut arr, json!(9))
            .is_err());
    }
}
