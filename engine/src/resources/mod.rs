//! Task resources: what a Task state's `Resource` does when invoked. For now, mocked responses
//! in Step Functions Local's MockConfigFile format; real resources come behind the same call.

pub mod mock;

use crate::failure::Failure;
use serde_json::Value;

/// One invocation of a Task state's resource.
pub struct TaskCall<'a> {
    pub state_name: &'a str,
    pub resource: &'a str,
    pub parameters: &'a Value,
}

/// The resources an execution may use.
#[derive(Default)]
pub struct Resources {
    pub mocks: Option<mock::MockSet>,
}

impl Resources {
    /// Invokes a task. A Task whose state has no mock fails with `States.Runtime`-free
    /// `States.TaskFailed`, naming the state and the resource.
    pub async fn invoke(&self, call: &TaskCall<'_>) -> Result<Value, Failure> {
        if let Some(mocks) = &self.mocks {
            if let Some(response) = mocks.next_response(call.state_name) {
                return response.apply(call.resource);
            }
        }
        Err(Failure::new(
            crate::failure::names::TASK_FAILED,
            format!(
                "state '{}' calls resource '{}', which asl cannot run yet: give it a mock (--mock-config)",
                call.state_name, call.resource
            ),
        ))
    }
}

/// Splits a Task `Resource` ARN into AWS's `resourceType` and `resource` history fields:
/// `arn:aws:states:::lambda:invoke.waitForTaskToken` gives ("lambda", "invoke.waitForTaskToken").
pub fn resource_parts(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() >= 7 && parts[2] == "states" && parts[3].is_empty() {
        return (parts[5].to_string(), parts[6].to_string());
    }
    if parts.len() >= 7 && parts[2] == "lambda" {
        return ("lambda".to_string(), arn.to_string());
    }
    (String::new(), arn.to_string())
}

/// A legacy Lambda function ARN used directly as `Resource`.
pub fn is_legacy_lambda(arn: &str) -> bool {
    arn.starts_with("arn:aws:lambda:") || arn.contains(":lambda:") && arn.contains(":function:")
}
