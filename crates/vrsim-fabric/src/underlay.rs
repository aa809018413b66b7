//! The underlay switch: it forwards a frame to the fabric port whose device
//! has the destination MAC (every compute node's and gateway's fabric
//! interface), and answers no ARP.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vrsim_wire::MacAddr;
use vrsim_wire::ethernet::EthernetView;

use crate::device::{Action, ArpAnswer, Device};
use crate::trace::{DropCause, HopStep};

/// The underlay switch: fabric MAC addresses to the devices behind them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Underlay {
    by_mac: BTreeMap<MacAddr, String>,
}

impl Underlay {
    /// Attach `device`, whose fabric interface has `mac`; its port on the switch is named after it.
    pub(crate) fn attach(&mut self, mac: MacAddr, device: &str) {
        self.by_mac.insert(mac, device.to_owned());
    }
}

impl Device for Underlay {
    fn receive(&mut self, _port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let eth = match EthernetView::new_checked(frame) {
            Ok(eth) => eth,
            Err(e) => return Action::Drop(DropCause::Malformed { error: Some(e) }),
        };
        let mac = eth.dst();
        let Some(to) = self.by_mac.get(&mac) else {
            return Action::Drop(DropCause::UnknownMac);
        };
        steps.push(HopStep::Switch {
            mac,
            to: to.clone(),
        });
        Action::Out {
            port: to.clone(),
            frame: frame.to_vec(),
            resolve: None,
        }
    }

    fn answer_arp(
        &mut self,
        _port: &str,
        _asker: (MacAddr, IpAddr),
        _target: IpAddr,
    ) -> Option<ArpAnswer> {
        None
    }

    /// The switch has a port for every device attached to it, named after the device.
    fn has_port(&self, _port: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrsim_wire::Frame;

    const COMPUTE: MacAddr = MacAddr(0, 0, 0x5e, 0, 0x53, 0x15);

    fn frame_to(dst: MacAddr) -> Vec<u8> {
        Frame::new()
            .ethernet(MacAddr::new(2, 0, 0, 0, 0, 1), dst)
            .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
            .udp(1, 2)
            .build()
            .expect("a fixed frame builds")
    }

    #[test]
    fn frames_go_to_the_port_of_their_destination_mac() {
        let mut u = Underlay::default();
        u.attach(COMPUTE, "compute01");
        let mut steps = Vec::new();
        let f = frame_to(COMPUTE);
        let action = u.receive(Some("gw-01"), &f, &mut steps);
        assert_eq!(
            action,
            Action::Out {
                port: "compute01".into(),
                frame: f,
                resolve: None
            }
        );
        assert_eq!(
            steps,
            [HopStep::Switch {
                mac: COMPUTE,
                to: "compute01".into()
            }]
        );
    }

    #[test]
    fn unknown_macs_and_runts_are_dropped() {
        let mut u = Underlay::default();
        let mut steps = Vec::new();
        let action = u.receive(Some("gw-01"), &frame_to(COMPUTE), &mut steps);
        assert_eq!(action, Action::Drop(DropCause::UnknownMac));
        let action = u.receive(Some("gw-01"), &[0u8; 10], &mut steps);
        assert!(matches!(
            action,
            Action::Drop(DropCause::Malformed { error: Some(_) })
        ));
        assert!(steps.is_empty());
    }
}
