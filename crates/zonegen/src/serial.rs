//! SOA serial scheme.
//!
//! The serial is **unix time, but never less than the previous serial + 1**:
//! `next = max(prev + 1, now)` in RFC 1982 serial arithmetic. It fits in 32 bits until 2106,
//! tells an operator roughly when the zone last changed, and keeps growing even when several
//! batches are published within one second (it then runs a little ahead of the clock and
//! falls back in line when publishing pauses). The publisher stores the last serial it
//! published (in the database) and compares it with the served SOA to detect a server that
//! lost track.

/// RFC 1982: is `a` greater than `b`?
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

/// The serial to publish after `prev`, at unix time `now`.
pub fn next_serial(prev: Option<u32>, now: u32) -> u32 {
    match prev {
        None => now,
        Some(prev) => {
            let bumped = prev.wrapping_add(1);
            if serial_gt(now, bumped) {
                now
            } else {
                bumped
            }
        }
    }
}

/// Unix time now, as a serial candidate.
pub fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows() {
        assert_eq!(next_serial(None, 1_700_000_000), 1_700_000_000);
        assert_eq!(
            next_serial(Some(1_700_000_000), 1_700_000_000),
            1_700_000_001
        );
        assert_eq!(
            next_serial(Some(1_700_000_005), 1_700_000_001),
            1_700_000_006
        );
        assert_eq!(
            next_serial(Some(1_600_000_000), 1_700_000_000),
            1_700_000_000
        );
        assert_eq!(next_serial(Some(u32::MAX), 5), 5);
        assert!(serial_gt(0, u32::MAX));
        assert!(!serial_gt(7, 7));
    }
}
