//! The intrinsic functions by name, and the dispatch from a function to its implementation.

use super::{array, encoding, hash, json, math, string, uuid};
use crate::expr::EvalError;
use serde_json::Value;
use std::borrow::Cow;

/// Every `States.*` intrinsic function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

const ALL: [Func; 18] = [
    Func::Format,
    Func::StringToJson,
    Func::JsonToString,
    Func::Array,
    Func::ArrayPartition,
    Func::ArrayContains,
    Func::ArrayRange,
    Func::ArrayGetItem,
    Func::ArrayLength,
    Func::ArrayUnique,
    Func::Base64Encode,
    Func::Base64Decode,
    Func::Hash,
    Func::JsonMerge,
    Func::MathRandom,
    Func::MathAdd,
    Func::StringSplit,
    Func::Uuid,
];

impl Func {
    pub(super) fn name(self) -> &'static str {
        match self {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::Array => "States.Array",
            Func::ArrayPartition => "States.ArrayPartition",
            Func::ArrayContains => "States.ArrayContains",
            Func::ArrayRange => "States.ArrayRange",
            Func::ArrayGetItem => "States.ArrayGetItem",
            Func::ArrayLength => "States.ArrayLength",
            Func::ArrayUnique => "States.ArrayUnique",
            Func::Base64Encode => "States.Base64Encode",
            Func::Base64Decode => "States.Base64Decode",
            Func::Hash => "States.Hash",
            Func::JsonMerge => "States.JsonMerge",
            Func::MathRandom => "States.MathRandom",
            Func::MathAdd => "States.MathAdd",
            Func::StringSplit => "States.StringSplit",
            Func::Uuid => "States.UUID",
        }
    }

    /// The function with this exact (case-sensitive) name.
    pub(super) fn from_name(name: &str) -> Option<Func> {
        ALL.into_iter().find(|f| f.name() == name)
    }

    /// Runs the function on evaluated arguments. `template` is the pre-parsed literal template
    /// of a `States.Format` call.
    pub(super) fn apply(
        self,
        args: &[Cow<'_, Value>],
        template: Option<&string::Template>,
    ) -> Result<Value, EvalError> {
        match self {
            Func::Format => string::format(args, template),
            Func::StringSplit => string::split(args),
            Func::StringToJson => json::string_to_json(args),
            Func::JsonToString => json::json_to_string(args),
            Func::JsonMerge => json::merge(args),
            Func::Array => Ok(Value::Array(
                args.iter().map(|a| a.clone().into_owned()).collect(),
            )),
            Func::ArrayPartition => array::partition(args),
            Func::ArrayContains => array::contains(args),
            Func::ArrayRange => array::range(args),
            Func::ArrayGetItem => array::get_item(args),
            Func::ArrayLength => array::length(args),
            Func::ArrayUnique => array::unique(args),
            Func::Base64Encode => encoding::encode(args),
            Func::Base64Decode => encoding::decode(args),
            Func::Hash => hash::hash(args),
            Func::MathRandom => math::random(args),
            Func::MathAdd => math::add(args),
            Func::Uuid => uuid::uuid(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in ALL {
            assert_eq!(Func::from_name(f.name()), Some(f));
        }
        assert_eq!(Func::from_name("States.Uuid"), None);
        assert_eq!(Func::from_name("States.format"), None);
        assert_eq!(Func::from_name("Format"), None);
    }
}
