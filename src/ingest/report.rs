//! The data-quality report every import ends with.
//!
//! Invariant: `accepted + quarantined` equals the number of data rows read; per-rule counts add up
//! to `quarantined`; at most [`EXAMPLES`] examples are kept per rule, the first ones seen, with
//! their reasons redacted (the report is printed and stored).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Quarantine;

/// Examples kept per rule.
pub const EXAMPLES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    pub count: u64,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityReport {
    pub accepted: u64,
    pub quarantined: u64,
    /// Per rule code.
    pub rules: BTreeMap<String, RuleCount>,
}

impl QualityReport {
    pub fn accept(&mut self) {
        self.accepted += 1;
    }

    pub fn quarantine(&mut self, q: Quarantine) {
        self.quarantined += 1;
        let entry = self.rules.entry(q.rule.to_string()).or_default();
        entry.count += 1;
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(Example {
                line: q.line,
                field: q.field,
                reason: crate::redact::redact(&q.reason),
            });
        }
    }

    /// Count of one rule (0 when it never fired).
    pub fn count(&self, rule: &str) -> u64 {
        self.rules.get(rule).map_or(0, |r| r.count)
    }

    /// Human-readable rendering, one rule per line with its first examples.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} rows accepted, {} quarantined",
            self.accepted, self.quarantined
        );
        for (rule, rc) in &self.rules {
            out.push_str(&format!("\n  {rule:<22} {:>6}", rc.count));
            for ex in &rc.examples {
                out.push_str(&format!(
                    "\n      line {}: {}: {}",
                    ex.line, ex.field, ex.reason
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(line: u64, rule: &'static str) -> Quarantine {
        Quarantine {
            line,
            field: "price".into(),
            rule,
            reason: "bad".into(),
            excerpt: String::new(),
        }
    }

    #[test]
    fn counts_and_keeps_first_examples() {
        let mut r = QualityReport::default();
        r.accept();
        for i in 0..5 {
            r.quarantine(q(i + 2, "absurd_price"));
        }
        r.quarantine(q(9, "duplicate"));
        assert_eq!((r.accepted, r.quarantined), (1, 6));
        assert_eq!(r.count("absurd_price"), 5);
        assert_eq!(r.rules["absurd_price"].examples.len(), EXAMPLES);
        assert_eq!(r.rules["absurd_price"].examples[0].line, 2);
        assert!(r.render().contains("duplicate"));
    }
}
