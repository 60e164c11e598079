//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$random`,
//! `$uuid`, `$parse`) and the one it removes (`$eval`), over JSON values so they do not
//! depend on the library. An argument is `None` when the expression gave nothing; a result
//! of `None` is nothing (undefined).

use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::java_random::JavaRandom;
use crate::asl::random::uuid_from;

/// The names the engine defines or replaces.
pub(super) const NAMES: [&str; 7] = [
    "partition",
    "range",
    "hash",
    "random",
    "uuid",
    "parse",
    "eval",
];

pub(super) type Result = std::result::Result<Option<Value>, String>;

/// Where `$random()` and `$uuid()` draw from: the run's random source, seeded per evaluation.
pub(super) struct Draw {
    state: u64,
}

impl Draw {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// SplitMix64, as the engine's own source.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Calls the function `name` (one of [`NAMES`]).
pub(super) fn call(name: &str, args: &[Option<Value>], draw: &mut Draw) -> Result {
    match name {
        "partition" => partition(args),
        "range" => range(args),
        "hash" => hash(args),
        "random" => random(args, draw),
        "uuid" => Ok(Some(Value::String(uuid(draw)))),
        "parse" => parse(args),
        // AWS removes $eval; a call is a call of nothing.
        _ => Err(format!(
            "T1006: Attempted to invoke a non-function: ${name}"
        )),
    }
}

fn signature(name: &str, index: usize) -> String {
    format!("T0410: Argument {index} of function \"{name}\" does not match function signature")
}

fn too_many(name: &str, args: &[Option<Value>], max: usize) -> std::result::Result<(), String> {
    if args.len() > max {
        return Err(signature(name, max + 1));
    }
    Ok(())
}

/// A number argument rounded towards zero, as AWS does; `Ok(None)` when undefined.
fn integer(
    name: &str,
    args: &[Option<Value>],
    index: usize,
) -> std::result::Result<Option<i64>, String> {
    match args.get(index) {
        None | Some(None) => Ok(None),
        Some(Some(Value::Number(n))) => match n.as_f64().map(f64::trunc) {
            Some(f) if f.is_finite() && f.abs() < 9.007_199_254_740_992e15 => Ok(Some(f as i64)),
            _ => Err(signature(name, index + 1)),
        },
        Some(Some(_)) => Err(signature(name, index + 1)),
    }
}

/// `$partition(array, size)`: the array in chunks of `size`, the last holding the rest.
/// An empty array or a size below 1 gives nothing.
fn partition(args: &[Option<Value>]) -> Result {
    too_many("partition", args, 2)?;
    let items = match args.first() {
        None | Some(None) => return Ok(None),
        Some(Some(Value::Array(a))) => a.clone(),
        Some(Some(v)) => vec![v.clone()],
    };
    let Some(size) = integer("partition", args, 1)? else {
        return Ok(None);
    };
    if items.is_empty() || size < 1 {
        return Ok(None);
    }
    let chunks = items
        .chunks(size as usize)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    Ok(Some(Value::Array(chunks)))
}

/// The most elements `$range` builds; one more is refused as AWS refuses it.
const MAX_RANGE: i128 = 360_145;

/// `$range(start, end, step)`: from `start` towards `end` by `step`, `end` included when a
/// step lands on it; one element gives the number itself. No step, a zero step or one
/// going away from `end` gives nothing.
fn range(args: &[Option<Value>]) -> Result {
    too_many("range", args, 3)?;
    let start = integer("range", args, 0)?;
    let end = integer("range", args, 1)?;
    let step = integer("range", args, 2)?;
    let (Some(start), Some(end), Some(step)) = (start, end, step) else {
        return Ok(None);
    };
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(None);
    }
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if count > MAX_RANGE {
        return Err("Expression evaluation memory limit exceeded".into());
    }
    if count == 1 {
        return Ok(Some(Value::from(start)));
    }
    let values = (0..count)
        .map(|i| Value::from((i128::from(start) + i * i128::from(step)) as i64))
        .collect();
    Ok(Some(Value::Array(values)))
}

/// `$hash(data, algorithm)`: the hex digest of a string; MD5, SHA-1, SHA-256, SHA-384 or
/// SHA-512, named exactly so. No algorithm gives nothing.
fn hash(args: &[Option<Value>]) -> Result {
    too_many("hash", args, 2)?;
    let data = match args.first() {
        None | Some(None) => return Ok(None),
        Some(Some(Value::String(s))) => s.as_bytes(),
        Some(Some(_)) => return Err(signature("hash", 1)),
    };
    let algorithm = match args.get(1) {
        None | Some(None) => return Ok(None),
        Some(Some(Value::String(s))) => s.as_str(),
        Some(Some(_)) => return Err(signature("hash", 2)),
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let digest = match algorithm {
        "MD5" => hex(&Md5::digest(data)),
        "SHA-1" => hex(&Sha1::digest(data)),
        "SHA-256" => hex(&Sha256::digest(data)),
        "SHA-384" => hex(&Sha384::digest(data)),
        "SHA-512" => hex(&Sha512::digest(data)),
        other => {
            return Err(format!(
                "The hash algorithm '{other}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            ))
        }
    };
    Ok(Some(Value::String(digest)))
}

/// `$random([seed])`: in `[0, 1)`; with a seed, Java's `new Random(seed).nextDouble()`.
fn random(args: &[Option<Value>], draw: &mut Draw) -> Result {
    too_many("random", args, 1)?;
    let value = match integer("random", args, 0)? {
        Some(seed) => JavaRandom::new(seed).next_double(),
        None => (draw.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
    };
    Ok(serde_json::Number::from_f64(value).map(Value::Number))
}

/// `$uuid()`: a version-4 UUID.
fn uuid(draw: &mut Draw) -> String {
    let hi = draw.next_u64();
    uuid_from(hi, draw.next_u64())
}

/// `$parse(text)`: the JSON value a string holds.
fn parse(args: &[Option<Value>]) -> Result {
    too_many("parse", args, 1)?;
    match args.first() {
        None | Some(None) => Ok(None),
        Some(Some(Value::String(s))) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| format!("The string '{s}' could not be parsed as JSON: {e}")),
        Some(Some(_)) => Err(signature("parse", 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(name: &str, args: Vec<Value>) -> Result {
        let args: Vec<Option<Value>> = args.into_iter().map(Some).collect();
        call(name, &args, &mut Draw::new(7))
    }

    #[test]
    fn range_includes_the_end_and_unwraps_one_element() {
        assert_eq!(
            run("range", vec![json!(0), json!(10), json!(2)]),
            Ok(Some(json!([0, 2, 4, 6, 8, 10])))
        );
        assert_eq!(
            run("range", vec![json!(0), json!(9), json!(2)]),
            Ok(Some(json!([0, 2, 4, 6, 8])))
        );
        assert_eq!(
            run("range", vec![json!(5), json!(5), json!(1)]),
            Ok(Some(json!(5)))
        );
        assert_eq!(
            run("range", vec![json!(-1.7), json!(1), json!(1)]),
            Ok(Some(json!([-1, 0, 1])))
        );
        assert_eq!(run("range", vec![json!(3), json!(1), json!(1)]), Ok(None));
        assert_eq!(
            run("range", vec![json!(0), json!(1_000_000), json!(1)]).unwrap_err(),
            "Expression evaluation memory limit exceeded"
        );
        assert!(run("range", vec![json!("0"), json!(1), json!(1)])
            .unwrap_err()
            .starts_with("T0410: Argument 1"));
    }

    #[test]
    fn partition_hash_parse() {
        assert_eq!(
            run("partition", vec![json!([1, 2, 3, 4, 5]), json!(2)]),
            Ok(Some(json!([[1, 2], [3, 4], [5]])))
        );
        assert_eq!(run("partition", vec![json!([]), json!(2)]), Ok(None));
        assert_eq!(
            run("hash", vec![json!("abc"), json!("MD5")]),
            Ok(Some(json!("900150983cd24fb0d6963f7d28e17f72")))
        );
        let err = run("hash", vec![json!("abc"), json!("md5")]).unwrap_err();
        assert!(format!("{err:?}").contains("md5"), "{err:?}");
        assert_eq!(
            run("parse", vec![json!("{\"a\":[1]}")]),
            Ok(Some(json!({"a": [1]})))
        );
        assert!(run("eval", vec![json!("1")])
            .unwrap_err()
            .starts_with("T1006"));
    }
}
