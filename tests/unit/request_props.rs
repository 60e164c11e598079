//! Property tests: request parsing never panics, and every rejection names a field.

use ecs_migrate::migration::event::parse_input;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON, biased towards the shapes the parser looks at.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("ecs.migration")),
        Just(json!("AWS ECS Migration Task")),
        Just(json!(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:1"
        )),
        Just(json!("{\"taskdef_arn\": \"app:1\"}")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop_oneof![
            Just("taskdef_arn".to_string()),
            Just("detail".to_string()),
            Just("detail-type".to_string()),
            Just("source".to_string()),
            Just("id".to_string()),
            Just("command".to_string()),
            "[a-z_-]{0,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The fields a rejection may name.
const FIELDS: [&str; 6] = [
    "taskdef_arn",
    "detail",
    "source",
    "detail-type",
    "id",
    "execution input",
];

/// True when `message` names one of [`FIELDS`] as a whole JSON key: `id` inside "invalid" or
/// `detail` inside "details" does not count.
fn names_a_field(message: &str) -> bool {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    FIELDS.iter().any(|field| {
        message.match_indices(field).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + field.len()..].chars().next();
            !before.is_some_and(is_key_char) && !after.is_some_and(is_key_char)
        })
    }) || message.contains("is not accepted")
}

#[test]
fn a_field_is_named_only_as_a_whole_key() {
    assert!(names_a_field("detail.taskdef_arn is missing"));
    assert!(names_a_field("`id` must be a string"));
    assert!(names_a_field("\"detail-type\" is not the expected one"));
    assert!(!names_a_field("the input is invalid"));
    assert!(!names_a_field("see the details below"));
    assert!(!names_a_field("detail_type is wrong"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_json_never_panics_and_rejections_name_a_field(input in json_value()) {
        if let Err(err) = parse_input(&input) {
            prop_assert!(
                ["Migration.InvalidEvent", "Migration.NotAllowed"].contains(&err.name()),
                "{}", err.name()
            );
            prop_assert!(names_a_field(err.message()), "{}", err.message());
            prop_assert!(err.message().len() < 600, "cause too long: {}", err.message().len());
        }
    }

    #[test]
    fn arbitrary_taskdef_strings_never_panic(raw in any::<String>()) {
        for input in [json!({"taskdef_arn": raw.clone()}),
                      json!({"source": "ecs.migration", "detail-type": "AWS ECS Migration Task",
                             "detail": {"taskdef_arn": raw.clone()}}),
                      json!({"source": "ecs.migration", "detail-type": "AWS ECS Migration Task",
                             "detail": raw.clone()})] {
            if let Err(err) = parse_input(&input) {
                prop_assert!(names_a_field(err.message()), "{}", err.message());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_a_detail_string_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let input = json!({"source": "ecs.migration", "detail-type": "AWS ECS Migration Task", "detail": text});
        if let Err(err) = parse_input(&input) {
            prop_assert!(names_a_field(err.message()), "{}", err.message());
        }
    }
}
