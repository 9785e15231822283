//! The embeddable rules engine: rules compiled from loaded rules files,
//! an index from event type to the rules that can match it, evaluation of
//! each event (first matching rule wins, as in Falco), the alert a match
//! produces in Falco's text and JSON forms, and alert counts.
//!
//! ```text
//! loaded rules ──compile──► Engine ──process(event)──► rule ──alert()──► Alert
//! ```

pub mod alert;
pub mod append;
pub mod engine;
pub mod replay;
pub mod select;
pub mod stats;

pub use alert::{Alert, AlertFormat};
pub use append::{AppendMatch, AppendOutput, ExtraField};
pub use engine::{Engine, EngineOptions, Rule, RuleError};
pub use replay::{EventSource, Next, Replay, ReplayEnd, ReplayEvent, ReplayHandler};
pub use select::NamePattern;
pub use stats::Stats;
