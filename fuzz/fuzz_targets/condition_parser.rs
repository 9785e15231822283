//! Feeds arbitrary text to the condition parser; every accepted condition
//! must print to a form that parses back to the same tree, and the resolver
//! passes must not panic on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peregrine_filter::condition::{self, Parser};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Parser::new(text).parse() {
        Ok(e) => {
            let printed = e.to_string();
            let again = condition::parse(&printed)
                .unwrap_or_else(|err| panic!("reparse of {printed:?} failed: {err}"));
            assert_eq!(e.without_spans(), again.without_spans(), "{printed:?}");
            let _ = condition::event_types(&e);
            let _ = condition::event_types_legacy(&e);
            let _ = condition::macro_refs(&e);
            let _ = condition::list_refs(&e);
            let _ = condition::fields(&e);
            let items = vec!["a b".to_string(), "x".to_string(), "'q'".to_string()];
            let expanded = condition::expand_lists(&e, &|_| Some(items.as_slice()));
            let reprinted = expanded.to_string();
            assert!(condition::parse(&reprinted).is_ok(), "{reprinted:?}");
            // Map every macro to one fixed body (mapping them to `e` itself
            // makes expansion exponential, in Falco too).
            let body = condition::parse("m.x = 1 and not other").ok();
            let _ = condition::expand_macros(&e, &|n| if n == "m" { body.as_ref() } else { None });
        }
        Err(err) => {
            assert!(err.offset <= text.len());
            assert!(err.line >= 1 && err.column >= 1);
        }
    }
});
