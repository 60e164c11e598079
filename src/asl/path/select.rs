//! Applying parsed path segments to data, filters included (Jayway's semantics: a missing
//! name or index selects nothing, a filter keeps the items its expression holds for).

use serde_json::Value;

use super::{Key, Seg};

pub(super) fn apply_seg<'a>(seg: &Seg, v: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Seg::Child(name, _) => {
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
        Seg::Union(keys, _) => {
            for k in keys {
                match k {
                    Key::Name(n) => {
                        if let Some(x) = v.as_object().and_then(|m| m.get(n)) {
                            out.push(x);
                        }
                    }
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

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    Current(Vec<Seg>),
    Root(Vec<Seg>),
    Lit(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
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
    pub(super) fn test(&self, current: &Value, root: &Value) -> bool {
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
