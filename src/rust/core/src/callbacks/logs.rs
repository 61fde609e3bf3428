//! The logs map passed along the callback list: keys in insertion order. The training loop
//! fills it in sorted key order (Keras 3 `pythonify_logs`); keys a callback adds later
//! (`learning_rate`, an R lambda's results) come after, as in a Python dict.

/// Insertion-ordered map from log key to value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs(Vec<(String, f64)>);

impl Logs {
    pub fn new() -> Self {
        Logs(Vec::new())
    }

    /// A map holding `pairs` sorted by key.
    pub fn sorted<I: IntoIterator<Item = (String, f64)>>(pairs: I) -> Self {
        let mut v: Vec<(String, f64)> = pairs.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Logs(v)
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Replaces the value of an existing key in place, or appends a new key.
    pub fn insert(&mut self, key: &str, value: f64) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear()
    }
}

/// Collects into sorted order, like a logs dict built by Keras' `pythonify_logs`.
impl FromIterator<(String, f64)> for Logs {
    fn from_iter<I: IntoIterator<Item = (String, f64)>>(iter: I) -> Self {
        Logs::sorted(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_then_insertion_order() {
        let mut l = Logs::sorted(vec![("loss".to_string(), 1.0), ("accuracy".to_string(), 0.5)]);
        l.insert("learning_rate", 0.1);
        l.insert("loss", 2.0);
        let keys: Vec<&str> = l.keys().collect();
        assert_eq!(keys, vec!["accuracy", "loss", "learning_rate"]);
        assert_eq!(l.get("loss"), Some(2.0));
        assert_eq!(l.get("nope"), None);
    }
}
