//! Feeds arbitrary bytes to the rules loader as rules files: the bytes up to
//! the first NUL are one file, the rest a second one loaded after it (so
//! that redefinitions, `append` and `override` merge across files). Both
//! are read as `Loader::load_file` reads files (lossy UTF-8). Nothing may
//! panic; results must print as JSON and text, and every loaded rule's
//! condition must print to text that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peregrine_filter::condition;
use peregrine_rules::{Config, Loader, results_json};

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut loader = Loader::new(Config::new());
    let mut results = vec![loader.load("a.yaml", &String::from_utf8_lossy(first))];
    if let Some(second) = second {
        results.push(loader.load("b.yaml", &String::from_utf8_lossy(second)));
    }
    let _ = results_json(&results, loader.contents());
    for r in &results {
        for e in &r.errors {
            let _ = e.context.as_text();
            let _ = e.context.snippet(loader.contents(), 160);
        }
    }
    for rule in loader.rules() {
        let printed = rule.condition.to_string();
        assert!(condition::parse(&printed).is_ok(), "{printed:?}");
    }
});
