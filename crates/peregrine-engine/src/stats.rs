//! Counts of alerts by rule and by priority, printed at exit with `-v`.

use peregrine_rules::Priority;
use std::fmt::Write;

/// Alert counts.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    total: u64,
    by_rule: Vec<u64>,
    by_priority: [u64; 8],
}

impl Stats {
    /// Counts one alert of rule `rule` (its index) at `priority`.
    pub fn record(&mut self, rule: usize, priority: Priority) {
        if self.by_rule.len() <= rule {
            self.by_rule.resize(rule + 1, 0);
        }
        self.total += 1;
        self.by_rule[rule] += 1;
        self.by_priority[priority as usize] += 1;
    }

    /// Total alerts.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Alerts of rule `rule`.
    pub fn rule_count(&self, rule: usize) -> u64 {
        self.by_rule.get(rule).copied().unwrap_or(0)
    }

    /// Alerts at `priority`.
    pub fn priority_count(&self, priority: Priority) -> u64 {
        self.by_priority[priority as usize]
    }

    /// Falco's summary: `Events detected`, counts by severity, counts by rule.
    pub fn summary<'a>(&self, rule_names: impl Fn(usize) -> &'a str) -> String {
        let mut out = format!(
            "Events detected: {}\nRule counts by severity:\n",
            self.total
        );
        for p in Priority::ALL {
            let n = self.by_priority[p as usize];
            if n > 0 {
                // Falco's short form: "INFO" for informational.
                let name = match p {
                    Priority::Informational => "INFO".to_string(),
                    p => p.name().to_uppercase(),
                };
                let _ = writeln!(out, "   {name}: {n}");
            }
        }
        out.push_str("Triggered rules by rule name:\n");
        for (i, n) in self.by_rule.iter().enumerate() {
            if *n > 0 {
                let _ = writeln!(out, "   {}: {n}", rule_names(i));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_non_zero_counts_in_order() {
        let mut s = Stats::default();
        s.record(1, Priority::Warning);
        s.record(1, Priority::Warning);
        s.record(0, Priority::Error);
        let names = ["a", "b"];
        let text = s.summary(|i| names[i]);
        assert_eq!(
            text,
            "Events detected: 3\nRule counts by severity:\n   ERROR: 1\n   WARNING: 2\n\
             Triggered rules by rule name:\n   a: 1\n   b: 2\n"
        );
        assert_eq!(s.rule_count(1), 2);
        assert_eq!(s.priority_count(Priority::Error), 1);
    }
}
