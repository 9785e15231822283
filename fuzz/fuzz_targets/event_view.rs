//! Feeds arbitrary bytes to the zero-copy event view and touches every
//! parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peregrine_event::EventView;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = EventView::parse(data) else {
        return;
    };
    std::hint::black_box((
        v.ts(),
        v.tid(),
        v.len(),
        v.code(),
        v.name(),
        v.direction(),
        v.info(),
    ));
    let _ = format!("{v:?}");
    for i in 0..v.nparams() {
        let p = v.param(i).expect("param within nparams");
        std::hint::black_box(p);
        let _ = v.param_int(i, true);
        let _ = v.param_int(i, false);
        let _ = v.param_str(i);
    }
    for p in v.params() {
        std::hint::black_box(p);
    }
    for info in v.info().params {
        let _ = v.param_by_name(info.name);
    }
    assert!(v.param(v.nparams()).is_none());
});
