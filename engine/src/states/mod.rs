//! The pure part of each state type: functions of (state, input, context) to an outcome.
//! The scheduler in `exec` sequences them and does the waiting.

pub mod choice;
pub mod fail;
pub mod map;
pub mod wait;
