//! Sequential: ops applied one after the other, declared in code or in a JSON / YAML config.

use serde::{Deserialize, Serialize};

use super::pipeline::Pipeline;
use super::{AnyOp, Op, Spec, bad};
use crate::error::Result;

/// Ops applied in order. In a config it is a list of ops, each an object naming its `op`:
///
/// ```
/// use geochips::ops::Sequential;
/// let ops = Sequential::from_yaml(
///     "- op: normalize\n  mean: [1200, 1100, 1000, 2500]\n  std: [400, 380, 420, 900]\n- op: random_flip\n",
/// )?;
/// assert_eq!(Sequential::from_json(&ops.to_json()?)?, ops);
/// # Ok::<(), geochips::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sequential {
    /// The ops, first applied first.
    pub ops: Vec<AnyOp>,
}

impl Sequential {
    /// The ops `ops`, in order.
    pub fn new(ops: impl IntoIterator<Item = AnyOp>) -> Sequential {
        Sequential {
            ops: ops.into_iter().collect(),
        }
    }

    /// These ops followed by `op`.
    pub fn then(mut self, op: impl Into<AnyOp>) -> Sequential {
        self.ops.push(op.into());
        self
    }

    /// The ops of a JSON config (a list of ops).
    pub fn from_json(text: &str) -> Result<Sequential> {
        serde_json::from_str(text).map_err(|e| bad("config", format!("JSON: {e}")))
    }

    /// The JSON config of these ops.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| bad("config", format!("JSON: {e}")))
    }

    /// The ops of a YAML config (a list of ops).
    pub fn from_yaml(text: &str) -> Result<Sequential> {
        serde_yaml_ng::from_str(text).map_err(|e| bad("config", format!("YAML: {e}")))
    }

    /// The YAML config of these ops.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml_ng::to_string(self).map_err(|e| bad("config", format!("YAML: {e}")))
    }

    /// The spec of chips after every op, for chips of `input`: what a loader sizes its slots from.
    pub fn output(&self, input: &Spec) -> Result<Spec> {
        self.ops
            .iter()
            .try_fold(input.clone(), |spec, op| op.output(&spec))
    }

    /// These ops bound to chips of `input`: each op's input checked, ready to run on chips.
    pub fn pipeline(&self, input: Spec) -> Result<Pipeline> {
        Pipeline::new(self.ops.clone(), input)
    }
}
