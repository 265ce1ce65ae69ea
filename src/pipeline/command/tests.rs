//! Tests for command tokenising.
use super::*;
