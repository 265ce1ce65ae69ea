//! Settings: the command line, the environment and the config file resolved once.

pub mod config_file;
