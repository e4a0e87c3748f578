//! Shared helpers of the end-to-end and conformance suites (see the test files beside this).
