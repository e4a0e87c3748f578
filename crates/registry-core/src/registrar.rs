//! Registrars: the accounts that may log in (owned by the frontend work; being written).
