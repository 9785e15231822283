//! The scap event format: the table of every event code (from the driver
//! schema), a zero-copy view over one event's bytes, and the rendering of
//! parameters as sysdig and Falco print them.

#[rustfmt::skip]
pub mod generated;
pub mod names;
pub mod render;
pub mod syscalls;
pub mod table;
pub mod view;

pub use generated::{EVENT_COUNT, SCHEMA_VERSION, code};
pub use names::{errno_name, signal_name, syscall_name};
pub use render::{
    FdDesc, NoContext, RenderContext, RenderOptions, render_arg, render_args, render_param,
    render_parts,
};
pub use table::{
    Category, Direction, EventFlags, EventInfo, ParamExtra, ParamInfo, ParamType, PrintFormat,
    codes_named, event_info,
};
pub use view::{EventBuilder, EventError, EventView, HEADER_LEN, read_int};
