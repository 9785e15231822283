//! Alert priorities (the rules' own type) and their syslog severities.

pub use peregrine_rules::Priority;

/// The syslog severity of a priority: Falco numbers its eight priorities
/// exactly as syslog numbers severities (`LOG_EMERG` = 0 ... `LOG_DEBUG` = 7).
pub fn syslog_severity(priority: Priority) -> u8 {
    priority as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_follow_syslog() {
        assert_eq!(syslog_severity(Priority::Emergency), 0);
        assert_eq!(syslog_severity(Priority::Warning), 4);
        assert_eq!(syslog_severity(Priority::Informational), 6);
        assert_eq!(syslog_severity(Priority::Debug), 7);
    }
}
