//! What a strategy's guide page says: how it works, when to choose it, its security notes and
//! where its code lives. Data only, so the browser build renders the same pages.

/// A step of a request, for the sequence diagram: who sends what to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: &'static str,
    pub to: &'static str,
    pub message: &'static str,
}

/// A strategy's guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guide {
    /// How it works, in five sentences.
    pub how: [&'static str; 5],
    pub sequence: &'static [Step],
    pub choose_when: &'static str,
    pub avoid_when: &'static str,
    pub security: &'static [&'static str],
    /// What whoever steals the credential can do, and for how long: what the attacker-side
    /// tests show.
    pub stolen: &'static str,
    /// The file to read first, relative to the repository root.
    pub source: &'static str,
}

pub(super) const fn step(from: &'static str, to: &'static str, message: &'static str) -> Step {
    Step { from, to, message }
}
