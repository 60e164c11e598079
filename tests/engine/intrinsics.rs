//! Intrinsic functions, from "Intrinsic functions for JSONPath states in Step Functions": each
//! function's documented example, then the documented argument checks failing. A failing
//! intrinsic ends the execution with States.Runtime ("The function '...' had the following
//! error: ...").

use crate::common;

use common::*;
use ecs_migrate::asl::ExecutionStatus;
use serde_json::{json, Value};

/// Evaluates `call` as `{"value.$": call}` in a Pass state.
async fn eval(call: &str, input: Value) -> Result<Value, String> {
    let r = run(
        single(json!({"Type": "Pass", "Parameters": {"value.$": call}, "End": true})),
        input,
    )
    .await;
    match r.status {
        ExecutionStatus::Succeeded => Ok(r.output.unwrap()["value"].clone()),
        _ => {
            assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{call}");
            Err(r.cause.unwrap_or_default())
        }
    }
}

#[tokio::test]
async fn documented_examples() {
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
    let cases: Vec<(&str, Value, Value)> = vec![
        // States.Format: both forms give "Hello, my name is Arnav."
        (
            "States.Format('Hello, my name is {}.', $.name)",
            json!({"name": "Arnav"}),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.Format($.template, $.name)",
            json!({"name": "Arnav", "template": "Hello, my name is {}."}),
            json!("Hello, my name is Arnav."),
        ),
        // States.StringToJson / States.JsonToString.
        (
            "States.StringToJson($.escapedJsonString)",
            json!({"escapedJsonString": "{\"foo\": \"bar\"}"}),
            json!({"foo": "bar"}),
        ),
        (
            "States.JsonToString($.unescapedJson)",
            json!({"unescapedJson": {"foo": "bar"}}),
            json!("{\"foo\":\"bar\"}"),
        ),
        // Arrays.
        ("States.Array($.Id)", json!({"Id": 123456}), json!([123456])),
        (
            "States.ArrayPartition($.inputArray,4)",
            nine.clone(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ),
        (
            "States.ArrayContains($.inputArray, $.lookingFor)",
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}),
            json!(true),
        ),
        (
            "States.ArrayRange(1, 9, 2)",
            json!({}),
            json!([1, 3, 5, 7, 9]),
        ),
        (
            "States.ArrayGetItem($.inputArray, $.index)",
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}),
            json!(6),
        ),
        ("States.ArrayLength($.inputArray)", nine.clone(), json!(9)),
        (
            "States.ArrayUnique($.inputArray)",
            json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
            json!([1, 2, 3, 4]),
        ),
        // Values compare as JSON values: objects by their members in any order, arrays by
        // their items in order, 1 and 1.0 apart (Jackson's node equality, which AWS runs).
        (
            "States.ArrayUnique($.a)",
            json!({"a": [{"x": 1, "y": [2, 3]}, {"y": [2, 3], "x": 1}, {"y": [3, 2], "x": 1}, 1, 1.0, "1", null, null]}),
            json!([{"x": 1, "y": [2, 3]}, {"y": [3, 2], "x": 1}, 1, 1.0, "1", null]),
        ),
        // Data encoding and decoding.
        (
            "States.Base64Encode($.input)",
            json!({"input": "Data to encode"}),
            json!("RGF0YSB0byBlbmNvZGU="),
        ),
        (
            "States.Base64Decode($.base64)",
            json!({"base64": "RGF0YSB0byBlbmNvZGU="}),
            json!("Data to encode"),
        ),
        // Hash calculation.
        (
            "States.Hash($.Data, $.Algorithm)",
            json!({"Data": "input data", "Algorithm": "SHA-1"}),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        // JSON data manipulation.
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        // Math.
        (
            "States.MathAdd($.value1, $.step)",
            json!({"value1": 111, "step": -1}),
            json!(110),
        ),
        // String operation.
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "1,2,3,4,5", "splitter": ","}),
            json!(["1", "2", "3", "4", "5"]),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            json!(["This", "is", "a", "test", "string"]),
        ),
    ];
    for (call, input, expected) in cases {
        assert_eq!(eval(call, input).await, Ok(expected), "{call}");
    }
}

// "States.Hash": MD5, SHA-1, SHA-256, SHA-384 and SHA-512 of the data, as lowercase hex.
#[tokio::test]
async fn hash_algorithms() {
    for (alg, hex) in [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ("SHA-384", "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"),
        ("SHA-512", "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"),
    ] {
        let got = eval(&format!("States.Hash($.d, '{alg}')"), json!({"d": "input data"})).await;
        assert_eq!(got, Ok(json!(hex)), "{alg}");
    }
}

// "States.MathRandom": a random integer between start and end; with a seed the result is
// repeatable. "States.UUID": a version 4 UUID.
#[tokio::test]
async fn math_random_and_uuid() {
    for _ in 0..20 {
        let v = eval(
            "States.MathRandom($.start, $.end)",
            json!({"start": 1, "end": 999}),
        )
        .await
        .unwrap();
        let n = v.as_i64().unwrap();
        assert!((1..999).contains(&n), "{n}");
    }
    let a = eval("States.MathRandom(1, 999, 7)", json!({}))
        .await
        .unwrap();
    let b = eval("States.MathRandom(1, 999, 7)", json!({}))
        .await
        .unwrap();
    assert_eq!(a, b);
    let u = eval("States.UUID()", json!({})).await.unwrap();
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(u.as_bytes()[14], b'4');
}

// "States.MathAdd": non-integers are rounded to the nearest integer; values must be within
// -2147483648..2147483647.
#[tokio::test]
async fn math_add_rounds_and_checks_range() {
    assert_eq!(
        eval("States.MathAdd(1.5, 0)", json!({})).await,
        Ok(json!(2))
    );
    assert_eq!(
        eval("States.MathAdd(-1.5, 0)", json!({})).await,
        Ok(json!(-1))
    );
    assert_eq!(
        eval("States.MathAdd(2147483647, -1)", json!({})).await,
        Ok(json!(2147483646))
    );
    let err = eval("States.MathAdd(2147483648, 1)", json!({}))
        .await
        .unwrap_err();
    // Out of range, as any invalid argument: "Invalid arguments in States.MathAdd" (see
    // aws_corners::intrinsic_failures for the source).
    assert!(
        err.ends_with("Invalid arguments in States.MathAdd"),
        "{err}"
    );
}

// The nesting example of the guide (with a template whose placeholders match its values).
#[tokio::test]
async fn nested_calls() {
    let call = "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
    let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2"}});
    assert_eq!(eval(call, input).await, Ok(json!("1.0")));
}

// "Reserved characters in intrinsic functions": \' \{ \} \\ in string arguments.
#[tokio::test]
async fn escapes_in_string_arguments() {
    let r = eval(
        r"States.Format('It\'s \{{}\} \\ done', $.x)",
        json!({"x": 1}),
    )
    .await;
    assert_eq!(r, Ok(json!(r"It's {1} \ done")));
}

// The escapes of a JSON string, as AWS decodes them in string arguments: \" \/ \b \f \n
// \r \t and \uXXXX (a surrogate pair is one character), in plain and Format arguments.
#[tokio::test]
async fn json_escapes_in_string_arguments() {
    let r = eval(
        r#"States.Format('q\"s\/b\bf\fn\nr\rt\tu\u0041 {}', $.x)"#,
        json!({"x": 1}),
    )
    .await;
    assert_eq!(r, Ok(json!("q\"s/b\u{8}f\u{c}n\nr\rt\tuA 1")));
    let r = eval(r"States.StringSplit('a\nb\ud83d\ude00c', '\n')", json!({})).await;
    assert_eq!(r, Ok(json!(["a", "b\u{1F600}c"])));
    let r = eval(r"States.Array('\u00e9\\')", json!({})).await;
    assert_eq!(r, Ok(json!(["é\\"])));
    // A path's bracket name decodes them too.
    let r = eval(r"States.Format('{}', $['a\/b\u0021'])", json!({"a/b!": 1})).await;
    assert_eq!(r, Ok(json!("1")));
}

#[tokio::test]
async fn documented_argument_checks_fail() {
    let big = "x".repeat(10_001);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "States.ArrayPartition($.a, 0)",
            json!({"a": [1]}),
            "Invalid arguments in States.ArrayPartition",
        ),
        (
            "States.ArrayPartition($.a, 2)",
            json!({"a": "no"}),
            "Invalid arguments in States.ArrayPartition",
        ),
        (
            "States.ArrayRange(1, 9, 0)",
            json!({}),
            "Invalid arguments in States.ArrayRange",
        ),
        (
            "States.ArrayRange(1, 2000, 1)",
            json!({}),
            "Invalid arguments in States.ArrayRange",
        ),
        (
            "States.ArrayGetItem($.a, 9)",
            json!({"a": [1, 2]}),
            "out of bounds",
        ),
        (
            "States.ArrayGetItem($.a, -1)",
            json!({"a": [1, 2]}),
            "out of bounds",
        ),
        (
            "States.ArrayLength($.a)",
            json!({"a": {}}),
            "must be an array",
        ),
        (
            "States.ArrayUnique($.a)",
            json!({"a": 1}),
            "must be an array",
        ),
        (
            "States.ArrayContains($.a, 1)",
            json!({"a": 1}),
            "must be an array",
        ),
        (
            "States.Base64Encode($.s)",
            json!({"s": big.clone()}),
            "10000 characters",
        ),
        (
            "States.Base64Decode($.s)",
            json!({"s": "%%%"}),
            "not valid base64",
        ),
        (
            "States.Base64Decode($.s)",
            json!({"s": 5}),
            "must be a string",
        ),
        (
            "States.Hash($.s, 'SHA-2')",
            json!({"s": "x"}),
            "not supported",
        ),
        (
            "States.Hash($.s, 'MD5')",
            json!({"s": big}),
            "10000 characters",
        ),
        (
            "States.JsonMerge($.a, $.b, true)",
            json!({"a": {}, "b": {}}),
            "shallow",
        ),
        (
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": [], "b": {}}),
            "JSON object",
        ),
        (
            "States.MathAdd($.a, 1)",
            json!({"a": "1"}),
            "Invalid arguments in States.MathAdd",
        ),
        (
            "States.MathRandom(5, 5)",
            json!({}),
            "Invalid arguments in States.MathRandom",
        ),
        (
            "States.StringToJson($.s)",
            json!({"s": "{nope"}),
            "Invalid arguments in States.StringToJson",
        ),
        (
            "States.StringSplit($.s, ',')",
            json!({"s": 1}),
            "must be a string",
        ),
        (
            "States.Format($.t, 1)",
            json!({"t": "{} and {}"}),
            "2 placeholders",
        ),
        ("States.Array($.missing)", json!({}), "could not be found"),
    ];
    for (call, input, needle) in cases {
        let err = eval(call, input).await.expect_err(call);
        assert!(err.contains("had the following error"), "{call}: {err}");
        assert!(err.contains(needle), "{call}: {err}");
    }
}

#[tokio::test]
async fn malformed_calls_are_definition_problems() {
    for bad in [
        "States.Nope(1)",
        "States.ArrayRange(1, 2)",
        "States.Format('{}')",
        "States.UUID(1)",
        "States.Format('a\\x')",
    ] {
        let def = single(json!({"Type": "Pass", "Parameters": {"v.$": bad}, "End": true}));
        let problems = ecs_migrate::asl::Definition::parse(&def).expect_err(bad);
        assert_eq!(problems[0].pointer, "/States/S/Parameters/v.$", "{bad}");
    }
}
