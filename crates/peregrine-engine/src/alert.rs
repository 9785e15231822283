//! Alerts: what a matching rule produces, and Falco's text and JSON forms.

use chrono::{Local, TimeZone, Utc};
use peregrine_rules::Priority;
use std::fmt::Write;

/// How alerts are written.
#[derive(Clone, Debug)]
pub struct AlertFormat {
    /// JSON lines instead of text.
    pub json: bool,
    /// `output` key in JSON.
    pub include_output: bool,
    /// `tags` key in JSON.
    pub include_tags: bool,
    /// `message` key in JSON: the rule's output without time and priority.
    pub include_message: bool,
    /// `output_fields` key in JSON.
    pub include_output_fields: bool,
    /// ISO 8601 times in the text form.
    pub time_iso_8601: bool,
    /// Host name for the JSON `hostname` key.
    pub hostname: String,
}

impl Default for AlertFormat {
    fn default() -> Self {
        AlertFormat {
            json: false,
            include_output: true,
            include_tags: true,
            include_message: false,
            include_output_fields: true,
            time_iso_8601: false,
            hostname: String::new(),
        }
    }
}

/// One alert.
#[derive(Clone, Debug)]
pub struct Alert<'r> {
    /// Event time, ns since the epoch.
    pub ts: u64,
    /// Rule name.
    pub rule: &'r str,
    /// Rule priority.
    pub priority: Priority,
    /// Rule tags.
    pub tags: &'r [String],
    /// Event source.
    pub source: &'r str,
    /// The rule's output, rendered.
    pub output: String,
    /// The fields of the output and their values, in format order
    /// (`None` for `<NA>`), for JSON `output_fields`.
    pub fields: Vec<(String, Option<serde_json::Value>)>,
    /// The `append_output` extra fields and their values, for JSON
    /// `output_fields` only; a key here replaces the same key of `fields`.
    pub extra_fields: Vec<(String, Option<serde_json::Value>)>,
}

/// `HH:MM:SS.nnnnnnnnn` local time, as Falco's text alerts start.
pub fn time_text(ts: u64, iso: bool) -> String {
    let t = Local.timestamp_nanos(ts as i64);
    if iso {
        t.format("%Y-%m-%dT%H:%M:%S%.9f%z").to_string()
    } else {
        t.format("%H:%M:%S%.9f").to_string()
    }
}

impl Alert<'_> {
    /// The text line: `TIME: Priority output`.
    pub fn text(&self, fmt: &AlertFormat) -> String {
        format!(
            "{}: {} {}",
            time_text(self.ts, fmt.time_iso_8601),
            self.priority.name(),
            self.output
        )
    }

    /// The JSON line, keys in Falco's order.
    pub fn json(&self, fmt: &AlertFormat) -> String {
        let mut out = String::with_capacity(256 + self.output.len());
        out.push('{');
        let _ = write!(out, "\"hostname\":{}", json_str(&fmt.hostname));
        if fmt.include_output {
            let _ = write!(out, ",\"output\":{}", json_str(&self.text(fmt)));
        }
        if fmt.include_message {
            let _ = write!(out, ",\"message\":{}", json_str(&self.output));
        }
        let _ = write!(out, ",\"priority\":{}", json_str(self.priority.name()));
        let _ = write!(out, ",\"rule\":{}", json_str(self.rule));
        let _ = write!(out, ",\"source\":{}", json_str(self.source));
        if fmt.include_tags {
            out.push_str(",\"tags\":[");
            for (i, t) in self.tags.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_str(t));
            }
            out.push(']');
        }
        let time = Utc
            .timestamp_nanos(self.ts as i64)
            .format("%Y-%m-%dT%H:%M:%S%.9fZ");
        let _ = write!(out, ",\"time\":\"{time}\"");
        if fmt.include_output_fields {
            out.push_str(", \"output_fields\": {");
            self.write_output_fields(&mut out);
            out.push('}');
        }
        out.push('}');
        out
    }

    /// The members of `output_fields`: the output's fields, then the extra
    /// fields (which replace output fields of the same key); each key once,
    /// as a field the output names twice.
    fn write_output_fields(&self, out: &mut String) {
        let replaced = |k: &String| self.extra_fields.iter().any(|(e, _)| e == k);
        let members = self
            .fields
            .iter()
            .filter(|(k, _)| !replaced(k))
            .chain(&self.extra_fields);
        let mut written: Vec<&str> = Vec::new();
        for (k, v) in members {
            if written.contains(&k.as_str()) {
                continue;
            }
            if !written.is_empty() {
                out.push(',');
            }
            written.push(k.as_str());
            let v = v.as_ref().unwrap_or(&serde_json::Value::Null);
            let _ = write!(out, "{}:{}", json_str(k), v);
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert<'static> {
        static TAGS: [String; 0] = [];
        Alert {
            ts: 1_470_327_477_881_781_397,
            rule: "open_from_cat",
            priority: Priority::Warning,
            tags: &TAGS,
            source: "syscall",
            output: "An open was seen (command=cat /dev/null)".into(),
            fields: vec![
                (
                    "evt.time.iso8601".into(),
                    Some(1_470_327_477_881_781_397u64.into()),
                ),
                ("proc.cmdline".into(), Some("cat /dev/null".into())),
            ],
            extra_fields: Vec::new(),
        }
    }

    #[test]
    fn json_has_falco_shape() {
        // TZ only affects the text time, which the JSON's "output" embeds;
        // compare the parts that do not depend on it.
        let fmt = AlertFormat {
            hostname: "h".into(),
            time_iso_8601: true,
            ..Default::default()
        };
        let j = alert().json(&fmt);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["rule"], "open_from_cat");
        assert_eq!(v["priority"], "Warning");
        assert_eq!(v["time"], "2016-08-04T16:17:57.881781397Z");
        assert_eq!(v["output_fields"]["proc.cmdline"], "cat /dev/null");
        assert_eq!(v["tags"], serde_json::json!([]));
        assert!(j.contains(", \"output_fields\": {"));
        let fmt = AlertFormat {
            include_output: false,
            include_tags: false,
            include_message: true,
            include_output_fields: false,
            ..fmt
        };
        let v: serde_json::Value = serde_json::from_str(&alert().json(&fmt)).unwrap();
        assert!(v.get("output").is_none() && v.get("tags").is_none());
        assert!(v.get("output_fields").is_none());
        assert_eq!(v["message"], "An open was seen (command=cat /dev/null)");
    }

    #[test]
    fn extra_fields_only_in_output_fields() {
        let mut a = alert();
        // The output names proc.cmdline twice.
        a.fields
            .push(("proc.cmdline".into(), Some("cat /dev/null".into())));
        a.extra_fields = vec![
            ("evt.cpu".into(), Some(3u64.into())),
            ("home".into(), Some("/root".into())),
            ("proc.cmdline".into(), Some("replaced".into())),
            ("user.name".into(), None),
        ];
        let fmt = AlertFormat {
            include_message: true,
            ..Default::default()
        };
        let j = a.json(&fmt);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        let expected = serde_json::json!({
            "evt.time.iso8601": 1_470_327_477_881_781_397u64,
            "proc.cmdline": "replaced",
            "evt.cpu": 3,
            "home": "/root",
            "user.name": null,
        });
        assert_eq!(v["output_fields"], expected);
        // Each key once, even the replaced one.
        assert_eq!(j.matches("\"proc.cmdline\"").count(), 1, "{j}");
        a.extra_fields.clear();
        let j = a.json(&fmt);
        assert_eq!(j.matches("\"proc.cmdline\"").count(), 1, "{j}");
        assert!(j.ends_with(r#""proc.cmdline":"cat /dev/null"}}"#), "{j}");
        // The text is the rule's output alone.
        assert_eq!(v["message"], "An open was seen (command=cat /dev/null)");
        assert!(
            v["output"]
                .as_str()
                .unwrap()
                .ends_with("(command=cat /dev/null)")
        );
        assert!(!a.text(&fmt).contains("/root"));
        let off = AlertFormat {
            include_output_fields: false,
            ..fmt
        };
        assert!(!a.json(&off).contains("evt.cpu"));
    }

    #[test]
    fn text_starts_with_time_and_priority() {
        let t = alert().text(&AlertFormat::default());
        assert!(
            t.ends_with(": Warning An open was seen (command=cat /dev/null)"),
            "{t}"
        );
    }
}
