//! Row ids as Prisma Client generates them for `@default(cuid())`: cuid v1, `c` followed by 24 lowercase
//! base36 characters (timestamp, counter, fingerprint, random).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const BASE: u64 = 36;
const BLOCK: usize = 4;
const DISCRETE: u64 = 36 * 36 * 36 * 36;

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if value == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while value > 0 {
        out.push(DIGITS[(value % BASE) as usize]);
        value /= BASE;
    }
    out.reverse();
    String::from_utf8(out).expect("base36 digits are ASCII")
}

/// The last `size` characters of `text`, left-padded with `0`.
fn pad(text: &str, size: usize) -> String {
    let padded = format!("{text:0>size$}");
    padded[padded.len() - size..].to_owned()
}

fn fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        let pid = u64::from(std::process::id());
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .unwrap_or_default();
        let host_sum = host
            .trim()
            .bytes()
            .fold(host.len() as u64 + BASE, |sum, byte| sum + u64::from(byte));
        format!("{}{}", pad(&base36(pid), 2), pad(&base36(host_sum), 2))
    })
}

/// A new cuid v1 (`c` + 8 timestamp + 4 counter + 4 fingerprint + 8 random base36 characters).
///
/// ```
/// let id = workflow_core::ids::cuid();
/// assert_eq!(id.len(), 25);
/// assert!(id.starts_with('c') && id[1..].chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
/// ```
pub fn cuid() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let count = u64::from(COUNTER.fetch_add(1, Ordering::Relaxed)) % DISCRETE;
    let random = || pad(&base36(rand::random_range(0..DISCRETE)), BLOCK);
    format!(
        "c{}{}{}{}{}",
        pad(&base36(millis), 8),
        pad(&base36(count), BLOCK),
        fingerprint(),
        random(),
        random()
    )
}

/// The smallest cuid generated at or after `millis` ms since the Unix epoch (`c` + its 8 timestamp
/// characters): every cuid made earlier sorts before it, every one made then or later does not. Readers
/// that page by id use it as a time bound ([`crate::query::Queries::feed`]).
///
/// ```
/// let id = workflow_core::ids::cuid();
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
/// assert!(id.as_str() < workflow_core::ids::cuid_floor(now + 1).as_str());
/// assert!(id.as_str() >= workflow_core::ids::cuid_floor(now - 60_000).as_str());
/// ```
pub fn cuid_floor(millis: u64) -> String {
    format!("c{}", pad(&base36(millis), 8))
}

/// A random UUID v4, as `crypto.randomUUID()` gives (outbox causation ids, migration history ids).
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn cuids_have_the_prisma_shape_and_are_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| cuid()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.len(), 25, "{id}");
            assert!(id.starts_with('c'));
            assert!(
                id[1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
                "{id}"
            );
        }
    }

    #[test]
    fn cuids_sort_by_creation_time_at_millisecond_granularity() {
        let first = cuid();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = cuid();
        assert!(first[1..9] < second[1..9]);
    }

    #[test]
    fn base36_and_padding() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(pad("abc", 2), "bc");
        assert_eq!(pad("a", 4), "000a");
    }
}
