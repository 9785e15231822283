//! Fields and filters: the field registry and extractors that read events
//! and state, output formats with `%field` tokens, and filter conditions.

pub mod caps;
pub mod compile;
pub mod condition;
pub mod eval;
pub mod extract;
pub mod field;
pub mod format;
pub mod parse;
pub mod registry;
pub mod value;

pub use field::{Field, FieldArg, FieldError};
pub use format::{OutputFormat, Segment};
pub use registry::{FIELDS, FieldDef, FieldId};
pub use value::{FieldType, Value};
