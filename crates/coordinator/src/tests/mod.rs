//! Unit tests, one file per concept.
