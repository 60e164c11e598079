//! The `Type` of a state, read once, and the fields each type allows.

use std::fmt;

/// The eight state types of the Amazon States Language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

/// Fields every state may have.
pub(super) const COMMON_FIELDS: [&str; 3] = ["Type", "Comment", "QueryLanguage"];
/// Fields only JSONata states have.
pub(super) const JSONATA_FIELDS: [&str; 3] = ["Arguments", "Output", "Items"];
/// Fields only JSONPath states have: a JSONata state refuses them.
pub(super) const JSONPATH_FIELDS: [&str; 16] = [
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "ErrorPath",
    "CausePath",
];

impl StateType {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Pass" => Self::Pass,
            "Task" => Self::Task,
            "Choice" => Self::Choice,
            "Wait" => Self::Wait,
            "Succeed" => Self::Succeed,
            "Fail" => Self::Fail,
            "Parallel" => Self::Parallel,
            "Map" => Self::Map,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pass => "Pass",
            Self::Task => "Task",
            Self::Choice => "Choice",
            Self::Wait => "Wait",
            Self::Succeed => "Succeed",
            Self::Fail => "Fail",
            Self::Parallel => "Parallel",
            Self::Map => "Map",
        }
    }

    /// Choice, Succeed and Fail never take Next or End: where they go is in the type.
    pub(crate) fn is_terminal_by_type(self) -> bool {
        matches!(self, Self::Choice | Self::Succeed | Self::Fail)
    }

    /// Fail has no InputPath or OutputPath.
    pub(crate) fn has_io_paths(self) -> bool {
        self != Self::Fail
    }

    /// Whether a JSONata state of this type may have the JSONata field `key`.
    pub(crate) fn allows_jsonata_field(self, key: &str) -> bool {
        match key {
            "Arguments" => matches!(self, Self::Task | Self::Parallel),
            "Output" => self != Self::Fail,
            "Items" => self == Self::Map,
            _ => false,
        }
    }

    /// The fields a state of this type may have besides [`COMMON_FIELDS`].
    pub(crate) fn allowed_fields(self) -> &'static [&'static str] {
        match self {
            Self::Pass => &[
                "Next",
                "End",
                "InputPath",
                "OutputPath",
                "Parameters",
                "Result",
                "ResultPath",
                "Assign",
            ],
            Self::Task => &[
                "Next",
                "End",
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
                "Credentials",
                "Assign",
            ],
            Self::Choice => &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
            Self::Wait => &[
                "Next",
                "End",
                "InputPath",
                "OutputPath",
                "Seconds",
                "SecondsPath",
                "Timestamp",
                "TimestampPath",
                "Assign",
            ],
            Self::Succeed => &["InputPath", "OutputPath"],
            Self::Fail => &["Error", "ErrorPath", "Cause", "CausePath"],
            Self::Parallel => &[
                "Next",
                "End",
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Branches",
                "Assign",
            ],
            Self::Map => &[
                "Next",
                "End",
                "InputPath",
                "OutputPath",
                "ItemsPath",
                "ItemSelector",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "Iterator",
                "ItemProcessor",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                "ItemReader",
                "ItemBatcher",
                "ResultWriter",
                "Label",
                "Assign",
            ],
        }
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
