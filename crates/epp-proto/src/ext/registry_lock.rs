//! Registry lock, this project's own extension (`registryLock-1.0`, schema
//! `schemas/registryLock-1.0.xsd`).
//!
//! A registrar asks the registry to lock or unlock a domain with an otherwise empty
//! `<domain:update>` carrying `<rl:lock/>` or `<rl:unlock duration="PT1H"/>` in `<extension>`.
//! The registry answers 1001 with `<rl:reqData>`: the request's id and state. The request
//! takes effect only after the registry has verified it out of band (a one-time code sent to
//! the registrar's designated lock contact, read back to the registry's operator by phone).

/// The extension's namespace URI (listed in the greeting's `<svcExtension>`).
pub const NS: &str = "urn:x-epp-registry:params:xml:ns:registryLock-1.0";

/// How long a timed unlock may last at most: 30 days.
pub const MAX_UNLOCK_SECS: u32 = 30 * 24 * 3600;

/// The length of a timed unlock: 1 second to [`MAX_UNLOCK_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UnlockDuration(u32);

impl UnlockDuration {
    pub fn from_secs(secs: u32) -> Option<Self> {
        (1..=MAX_UNLOCK_SECS).contains(&secs).then_some(Self(secs))
    }

    pub fn secs(self) -> u32 {
        self.0
    }

    /// Parses the subset of `xs:duration` the registry accepts: `P[nD][T[nH][nM][nS]]` with
    /// whole numbers (years and months have no fixed length and are refused).
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => {
                if t.is_empty() {
                    return None;
                }
                (d, Some(t))
            }
            None => (rest, None),
        };
        let mut total: u64 = 0;
        let mut any = false;
        let mut take = |part: &str, units: &[(char, u64)]| -> Option<()> {
            let mut num = String::new();
            let mut next_unit = 0;
            for c in part.chars() {
                if c.is_ascii_digit() {
                    if num.len() >= 9 {
                        return None;
                    }
                    num.push(c);
                    continue;
                }
                let pos = units[next_unit..].iter().position(|(u, _)| *u == c)? + next_unit;
                let n: u64 = num.parse().ok()?;
                total = total.checked_add(n.checked_mul(units[pos].1)?)?;
                num.clear();
                next_unit = pos + 1;
                any = true;
            }
            num.is_empty().then_some(())
        };
        take(date, &[('D', 86_400)])?;
        if let Some(t) = time {
            take(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
        }
        if !any {
            return None;
        }
        Self::from_secs(u32::try_from(total).ok()?)
    }

    /// Canonical `xs:duration` text, e.g. `PT1H` or `P1DT30M`.
    pub fn to_xs_duration(self) -> String {
        let mut s = self.0;
        let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
        s %= 60;
        let mut out = String::from("P");
        if d > 0 {
            out.push_str(&format!("{d}D"));
        }
        if h > 0 || m > 0 || s > 0 {
            out.push('T');
            if h > 0 {
                out.push_str(&format!("{h}H"));
            }
            if m > 0 {
                out.push_str(&format!("{m}M"));
            }
            if s > 0 {
                out.push_str(&format!("{s}S"));
            }
        }
        out
    }
}

/// `<rl:lock/>` or `<rl:unlock duration="…"/>` in a `<domain:update>`'s extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum RegistryLockCommand {
    Lock,
    /// Without a duration the unlock lasts until a new lock is requested.
    Unlock {
        duration: Option<UnlockDuration>,
    },
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum LockOp {
    Lock,
    Unlock,
}

impl LockOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LockOp::Lock => "lock",
            LockOp::Unlock => "unlock",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        [LockOp::Lock, LockOp::Unlock]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Where a lock request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum LockRequestState {
    /// Waiting for the confirmation code to reach the lock contact (mail not sent yet).
    CodeNotSent,
    /// Code sent; waiting for the operator to enter it.
    PendingVerification,
    /// Verified and carried out.
    Applied,
    /// Rejected by the operator.
    Rejected,
    /// Not verified in time.
    Expired,
    /// Too many wrong codes.
    Failed,
}

impl LockRequestState {
    pub const ALL: [LockRequestState; 6] = [
        LockRequestState::CodeNotSent,
        LockRequestState::PendingVerification,
        LockRequestState::Applied,
        LockRequestState::Rejected,
        LockRequestState::Expired,
        LockRequestState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LockRequestState::CodeNotSent => "codeNotSent",
            LockRequestState::PendingVerification => "pendingVerification",
            LockRequestState::Applied => "applied",
            LockRequestState::Rejected => "rejected",
            LockRequestState::Expired => "expired",
            LockRequestState::Failed => "failed",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still waiting for a code (neither carried out nor ended).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            LockRequestState::CodeNotSent | LockRequestState::PendingVerification
        )
    }
}

/// `<rl:reqData>`: the answer to a lock or unlock request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RegistryLockData {
    /// The request id (what the operator and the registrar refer to).
    pub id: u64,
    pub name: crate::HostName,
    pub op: LockOp,
    pub state: LockRequestState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(UnlockDuration::parse("PT1H").map(|d| d.secs()), Some(3600));
        assert_eq!(
            UnlockDuration::parse("P1DT30M").map(|d| d.secs()),
            Some(88_200)
        );
        assert_eq!(UnlockDuration::parse("PT90S").map(|d| d.secs()), Some(90));
        for bad in [
            "", "P", "PT", "P1Y", "P1M", "PT1H1H", "PT1M1H", "1H", "P31D", "PT0S", "PT-1H", "P1.5D",
        ] {
            assert_eq!(UnlockDuration::parse(bad), None, "{bad}");
        }
        for s in [1, 59, 3600, 88_200, MAX_UNLOCK_SECS] {
            let d = UnlockDuration::from_secs(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(UnlockDuration::parse(&d.to_xs_duration()), Some(d));
        }
    }

    #[test]
    fn tokens() {
        for s in LockRequestState::ALL {
            assert_eq!(LockRequestState::from_token(s.as_str()), Some(s));
        }
        assert_eq!(LockOp::from_token("unlock"), Some(LockOp::Unlock));
    }
}
