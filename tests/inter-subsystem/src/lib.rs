//! End-to-end tests across subsystems (`tests/pair.rs`) and through an external system (the
//! payment processor's loop, `tests/payment_loop.rs`) live in `tests/`; this library is empty.
