//! End-to-end tests across subsystems live in `tests/`; this library is empty.
