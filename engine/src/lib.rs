//! asl: a local engine for Amazon States Language workflows, with AWS Step Functions' semantics.
//!
//! The flow: [`definition`] parses and validates a workflow into a typed model;
//! [`exec`] runs it, state by state, reading and writing JSON through [`expr`];
//! [`states`] holds each state type's pure logic; [`resources`] does a Task's work;
//! [`history`] receives every event in AWS's GetExecutionHistory shape.

pub mod definition;
pub mod exec;
pub mod expr;
pub mod failure;
pub mod history;
pub mod report;
pub mod resources;
pub mod states;

pub use definition::Definition;
pub use failure::Failure;
