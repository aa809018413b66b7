//! BGP-4 messages as the session needs them, on top of `netgauze-bgp-pkt`.
//!
//! netgauze does the byte work: OPEN and capabilities, UPDATE with its path
//! attributes and NLRI, and the mapping of its parse errors to NOTIFICATIONs
//! (RFC 4271 §6; where netgauze has no precise subcode it says "unspecific",
//! subcode 0, under the right error code). This module adds what a receiving
//! speaker checks around and on top of that: the header and each message
//! type's minimum length (§6.1), a NOTIFICATION read without judging its codes
//! (§6.4: never answer one with another), missing or unrecognized well-known
//! and repeated attributes and an unusable NEXT_HOP (§6.3), and the AS path of
//! a 2-octet peer rebuilt from AS4_PATH (RFC 6793 §4.2.3). It turns UPDATEs
//! into vrsim's [`PathAttrs`].
//!
//! IPv4 unicast NLRI is understood in the UPDATE body and in MP_REACH_NLRI /
//! MP_UNREACH_NLRI (RFC 4760), IPv6 unicast (AFI 2, SAFI 1) in MP_REACH_NLRI
//! / MP_UNREACH_NLRI with the next hops of RFC 2545 (the global address is
//! the route's next hop; a link-local one beside it is read and not kept);
//! other families are parsed by netgauze and ignored here.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::capabilities::{
    BgpCapability, FourOctetAsCapability, MultiProtocolExtensionsCapability,
};
use netgauze_bgp_pkt::nlri::{Ipv4Unicast, Ipv4UnicastAddress, Ipv6Unicast, Ipv6UnicastAddress};
use netgauze_bgp_pkt::notification::{
    BgpNotificationMessage, CeaseError, FiniteStateMachineError, HoldTimerExpiredError,
    OpenMessageError, UpdateMessageError,
};
use netgauze_bgp_pkt::open::{BgpOpenMessage, BgpOpenMessageParameter};
use netgauze_bgp_pkt::path_attribute::{
    As2PathSegment, As4Path, As4PathSegment, AsPath, AsPathSegmentType, LocalPreference, MpReach,
    MpUnreach, MultiExitDiscriminator, NextHop, Origin as WireOrigin, PathAttribute,
    PathAttributeValue,
};
use netgauze_bgp_pkt::update::BgpUpdateMessage;
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_iana::address_family::AddressType;
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;
use vrsim_control::bgp::{Origin, PathAttrs};

/// The length of the BGP message header (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// The largest message without the extended-message capability (RFC 4271 §4).
pub const MAX_LEN: usize = 4096;
/// The AS number a 2-octet field carries for a 4-octet AS (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// A NOTIFICATION: error code, subcode and data (RFC 4271 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The error code.
    pub code: u8,
    /// The error subcode.
    pub subcode: u8,
    /// The data field.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION of netgauze's model, read back from its wire form so that
    /// the numbering is netgauze's IANA tables'.
    fn from_wire_model(n: BgpNotificationMessage) -> Notification {
        let mut bytes = Vec::new();
        match BgpMessage::Notification(n).write(&mut bytes) {
            Ok(()) if bytes.len() >= HEADER_LEN + 2 => Notification {
                code: bytes[HEADER_LEN],
                subcode: bytes[HEADER_LEN + 1],
                data: bytes[HEADER_LEN + 2..].to_vec(),
            },
            // netgauze writes every notification it models; should it ever
            // refuse, say "unspecific" under the same code family.
            _ => Notification {
                code: 6,
                subcode: 0,
                data: Vec::new(),
            },
        }
    }

    /// OPEN Message Error / Bad Peer AS, with the AS the peer sent.
    pub fn bad_peer_as(sent: u16) -> Notification {
        Self::from_wire_model(BgpNotificationMessage::OpenMessageError(
            OpenMessageError::BadPeerAs {
                value: sent.to_be_bytes().into(),
            },
        ))
    }

    /// OPEN Message Error / Unacceptable Hold Time.
    pub fn unacceptable_hold_time(sent: u16) -> Notification {
        Self::from_wire_model(BgpNotificationMessage::OpenMessageError(
            OpenMessageError::UnacceptableHoldTime {
                value: sent.to_be_bytes().into(),
            },
        ))
    }

    /// OPEN Message Error / Bad BGP Identifier.
    pub fn bad_bgp_identifier(sent: Ipv4Addr) -> Notification {
        Self::from_wire_model(BgpNotificationMessage::OpenMessageError(
            OpenMessageError::BadBgpIdentifier {
                value: sent.octets().into(),
            },
        ))
    }

    /// OPEN Message Error / Unsupported Version Number, with the version we
    /// support (4).
    pub fn unsupported_version() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::OpenMessageError(
            OpenMessageError::UnsupportedVersionNumber {
                value: 4u16.to_be_bytes().into(),
            },
        ))
    }

    /// UPDATE Message Error / Missing Well-known Attribute, with its type code.
    pub fn missing_well_known(type_code: u8) -> Notification {
        Self::from_wire_model(BgpNotificationMessage::UpdateMessageError(
            UpdateMessageError::MissingWellKnownAttribute {
                value: vec![type_code].into(),
            },
        ))
    }

    /// UPDATE Message Error / Unrecognized Well-known Attribute, with its type code.
    pub fn unrecognized_well_known(type_code: u8) -> Notification {
        Self::from_wire_model(BgpNotificationMessage::UpdateMessageError(
            UpdateMessageError::UnrecognizedWellKnownAttribute {
                value: vec![type_code].into(),
            },
        ))
    }

    /// UPDATE Message Error / Optional Attribute Error.
    pub fn optional_attribute_error() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::UpdateMessageError(
            UpdateMessageError::OptionalAttributeError {
                value: Vec::new().into(),
            },
        ))
    }

    /// UPDATE Message Error / Malformed Attribute List.
    pub fn malformed_attribute_list() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::UpdateMessageError(
            UpdateMessageError::MalformedAttributeList {
                value: Vec::new().into(),
            },
        ))
    }

    /// UPDATE Message Error / Invalid NEXT_HOP Attribute.
    pub fn invalid_next_hop(next_hop: IpAddr) -> Notification {
        let value: Vec<u8> = match next_hop {
            IpAddr::V4(a) => a.octets().into(),
            IpAddr::V6(a) => a.octets().into(),
        };
        Self::from_wire_model(BgpNotificationMessage::UpdateMessageError(
            UpdateMessageError::InvalidNextHopAttribute {
                value: value.into(),
            },
        ))
    }

    /// Hold Timer Expired.
    pub fn hold_timer_expired() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::HoldTimerExpiredError(
            HoldTimerExpiredError::Unspecific {
                sub_code: 0,
                value: Vec::new().into(),
            },
        ))
    }

    /// Finite State Machine Error for a message the state does not expect
    /// (RFC 6608 subcodes: 1 in OpenSent, 2 in OpenConfirm, 3 in Established).
    pub fn fsm_error(subcode: u8) -> Notification {
        let model = match subcode {
            1 => FiniteStateMachineError::ReceiveUnexpectedMessageInOpenSentState {
                value: Vec::new().into(),
            },
            2 => FiniteStateMachineError::ReceiveUnexpectedMessageInOpenConfirmState {
                value: Vec::new().into(),
            },
            3 => FiniteStateMachineError::ReceiveUnexpectedMessageInEstablishedState {
                value: Vec::new().into(),
            },
            _ => FiniteStateMachineError::Unspecific {
                value: Vec::new().into(),
            },
        };
        Self::from_wire_model(BgpNotificationMessage::FiniteStateMachineError(model))
    }

    /// Cease / Administrative Shutdown (RFC 4486).
    pub fn admin_shutdown() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::CeaseError(
            CeaseError::AdministrativeShutdown {
                value: Vec::new().into(),
            },
        ))
    }

    /// Cease / Connection Rejected (RFC 4486): a peer that is not configured,
    /// or a second connection for a session that is already up.
    pub fn connection_rejected() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::CeaseError(
            CeaseError::ConnectionRejected {
                value: Vec::new().into(),
            },
        ))
    }

    /// Cease / Connection Collision Resolution (RFC 4486): an older
    /// connection of the same session, closed for a newer one.
    pub fn connection_collision() -> Notification {
        Self::from_wire_model(BgpNotificationMessage::CeaseError(
            CeaseError::ConnectionCollisionResolution {
                value: Vec::new().into(),
            },
        ))
    }

    /// The message on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = HEADER_LEN + 2 + self.data.len();
        let mut out = vec![0xff; 16];
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        out.push(3);
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
        out
    }

    /// The error code's name (RFC 4271 §4.5).
    pub fn code_name(&self) -> &'static str {
        match self.code {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            _ => "unknown error code",
        }
    }

    /// The subcode's name (RFC 4271 §6, RFC 4486, RFC 6608), if it has one.
    pub fn subcode_name(&self) -> Option<&'static str> {
        Some(match (self.code, self.subcode) {
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (6, 1) => "Maximum Number of Prefixes Reached",
            (6, 2) => "Administrative Shutdown",
            (6, 3) => "Peer De-configured",
            (6, 4) => "Administrative Reset",
            (6, 5) => "Connection Rejected",
            (6, 6) => "Other Configuration Change",
            (6, 7) => "Connection Collision Resolution",
            (6, 8) => "Out of Resources",
            _ => return None,
        })
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code_name(), self.code)?;
        match self.subcode_name() {
            Some(name) => write!(f, " / {name} ({})", self.subcode),
            None => write!(f, " / subcode {}", self.subcode),
        }
    }
}

/// A received OPEN, as the session checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The version field.
    pub version: u8,
    /// The peer's AS: the 4-octet capability's when present, else the 2-octet field.
    pub asn: u32,
    /// The 2-octet My Autonomous System field as sent.
    pub my_as: u16,
    /// The proposed hold time.
    pub hold_time: u16,
    /// The BGP identifier.
    pub router_id: Ipv4Addr,
    /// Whether the peer announced 4-octet AS support (RFC 6793).
    pub four_octet: bool,
    /// Whether IPv4 unicast may be sent to the peer: it announced the
    /// AFI 1/SAFI 1 capability, or no multiprotocol capability at all
    /// (then IPv4 unicast is implied, RFC 4760 §8).
    pub ipv4_unicast: bool,
    /// Whether the peer announced IPv6 unicast (AFI 2/SAFI 1, RFC 4760):
    /// only then may IPv6 routes be sent to it.
    pub ipv6_unicast: bool,
}

impl Open {
    /// Whether a route to `prefix` may be sent to this peer (its family was
    /// negotiated).
    pub fn carries(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(_) => self.ipv4_unicast,
            IpNet::V6(_) => self.ipv6_unicast,
        }
    }
}

/// A received UPDATE, in vrsim's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn IPv4 and IPv6 unicast prefixes (body and MP_UNREACH_NLRI).
    pub withdrawn: Vec<IpNet>,
    /// Announced IPv4 and IPv6 unicast prefixes with their attributes (body
    /// NLRI with NEXT_HOP, MP_REACH_NLRI with its own next hop).
    pub announced: Vec<(IpNet, PathAttrs)>,
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918); vrsim does not announce the capability.
    RouteRefresh,
}

/// How long the message at the start of `buf` is, once it is all there:
/// `Ok(None)` while the header or the body is incomplete. Checks the marker
/// and the length field (RFC 4271 §6.1).
pub fn frame(buf: &[u8]) -> Result<Option<usize>, Notification> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|&b| b != 0xff) {
        return Err(Notification {
            code: 1,
            subcode: 1,
            data: Vec::new(),
        });
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    // §6.1: the length must fit the message type's minimum (and KEEPALIVE's
    // exact) size; unknown types are left to `decode`'s Bad Message Type.
    let fits = match buf[18] {
        1 => len >= 29,
        2 => len >= 23,
        3 => len >= 21,
        4 => len == HEADER_LEN,
        5 => len == 23,
        _ => true,
    };
    if !(HEADER_LEN..=MAX_LEN).contains(&len) || !fits {
        return Err(Notification {
            code: 1,
            subcode: 2,
            data: buf[16..18].to_vec(),
        });
    }
    Ok((buf.len() >= len).then_some(len))
}

/// Decode one whole message (header included). `asn4` is whether 4-octet AS
/// numbers were negotiated: it decides how AS_PATH is read. An error is the
/// NOTIFICATION to send.
pub fn decode(msg: &[u8], asn4: bool) -> Result<Message, Notification> {
    if let Some(len) = frame(msg)?
        && len != msg.len()
    {
        return Err(Notification {
            code: 1,
            subcode: 2,
            data: msg[16..18].to_vec(),
        });
    }
    // A NOTIFICATION is taken as sent, whatever its codes (frame checked its
    // length): the session ends either way, and §6.4 forbids answering it.
    if msg.get(18) == Some(&3) && msg.len() >= HEADER_LEN + 2 {
        return Ok(Message::Notification(Notification {
            code: msg[HEADER_LEN],
            subcode: msg[HEADER_LEN + 1],
            data: msg[HEADER_LEN + 2..].to_vec(),
        }));
    }
    let mut ctx = BgpParsingContext::new(
        asn4,
        Default::default(),
        Default::default(),
        true,
        true,
        true,
        true,
    );
    let parsed = BgpMessage::parse(&mut SliceReader::new(msg), &mut ctx)
        .map_err(|e| Notification::from_wire_model(e.into()))?;
    Ok(match parsed {
        BgpMessage::Open(open) => Message::Open(open_of(&open)),
        BgpMessage::Update(update) => Message::Update(update_of(&update, asn4)?),
        BgpMessage::Notification(n) => Message::Notification(Notification::from_wire_model(n)),
        BgpMessage::KeepAlive => Message::Keepalive,
        BgpMessage::RouteRefresh(_) => Message::RouteRefresh,
    })
}

fn open_of(open: &BgpOpenMessage) -> Open {
    let mut asn4 = None;
    let mut families = Vec::new();
    for BgpOpenMessageParameter::Capabilities(caps) in open.params() {
        for cap in caps.iter() {
            match cap {
                BgpCapability::FourOctetAs(c) => asn4 = Some(c.asn4()),
                BgpCapability::MultiProtocolExtensions(m) => families.push(m.address_type()),
                _ => {}
            }
        }
    }
    Open {
        version: open.version(),
        asn: asn4.unwrap_or(u32::from(open.my_as())),
        my_as: open.my_as(),
        hold_time: open.hold_time(),
        router_id: open.bgp_id(),
        four_octet: asn4.is_some(),
        ipv4_unicast: families.is_empty() || families.contains(&AddressType::Ipv4Unicast),
        ipv6_unicast: families.contains(&AddressType::Ipv6Unicast),
    }
}

/// The AS path of AS_PATH segments: sequences in order, an AS_SET counted as
/// one AS (RFC 4271 §9.1.2.2 a) and represented by its first member.
fn flatten<T: Copy + Into<u32>>(
    segments: impl Iterator<Item = (AsPathSegmentType, Vec<T>)>,
) -> Vec<u32> {
    let mut path = Vec::new();
    for (kind, ases) in segments {
        match kind {
            AsPathSegmentType::AsSequence => path.extend(ases.iter().map(|&a| a.into())),
            AsPathSegmentType::AsSet => path.extend(ases.first().map(|&a| a.into())),
        }
    }
    path
}

/// The path attributes of an UPDATE as read, before the checks that need
/// them all.
struct ReadAttrs {
    origin: Option<Origin>,
    as_path: Option<Vec<u32>>,
    as4_path: Option<Vec<u32>>,
    next_hop: Option<Ipv4Addr>,
    med: u32,
    local_pref: u32,
    mp_announced: Vec<IpNet>,
    mp_next_hop: Option<IpAddr>,
    mp_withdrawn: Vec<IpNet>,
}

impl ReadAttrs {
    /// Read every attribute: each at most once (RFC 7606 §3 g), unknown
    /// well-known ones refused (RFC 4271 §6.3).
    fn read(update: &BgpUpdateMessage) -> Result<Self, Notification> {
        let mut r = ReadAttrs {
            origin: None,
            as_path: None,
            as4_path: None,
            next_hop: None,
            med: 0,
            local_pref: 100,
            mp_announced: Vec::new(),
            mp_next_hop: None,
            mp_withdrawn: Vec::new(),
        };
        let mut seen = Vec::new();
        for attr in update.path_attributes() {
            let code = attr.path_attribute_type().map_or_else(|c| c, u8::from);
            if seen.contains(&code) {
                return Err(Notification::malformed_attribute_list());
            }
            seen.push(code);
            if let PathAttributeValue::UnknownAttribute(_) = attr.value()
                && !attr.optional()
            {
                return Err(Notification::unrecognized_well_known(code));
            }
            r.take(attr.value())?;
        }
        Ok(r)
    }

    fn take(&mut self, value: &PathAttributeValue) -> Result<(), Notification> {
        match value {
            PathAttributeValue::Origin(o) => {
                self.origin = Some(match o {
                    WireOrigin::IGP => Origin::Igp,
                    WireOrigin::EGP => Origin::Egp,
                    WireOrigin::Incomplete => Origin::Incomplete,
                })
            }
            PathAttributeValue::AsPath(AsPath::As2PathSegments(s)) => {
                self.as_path = Some(flatten(
                    s.iter()
                        .map(|s| (s.segment_type(), s.as_numbers().to_vec())),
                ))
            }
            PathAttributeValue::AsPath(AsPath::As4PathSegments(s)) => {
                self.as_path = Some(flatten(
                    s.iter()
                        .map(|s| (s.segment_type(), s.as_numbers().to_vec())),
                ))
            }
            PathAttributeValue::As4Path(p) => {
                self.as4_path = Some(flatten(
                    p.segments()
                        .iter()
                        .map(|s| (s.segment_type(), s.as_numbers().to_vec())),
                ))
            }
            PathAttributeValue::NextHop(n) => self.next_hop = Some(n.next_hop()),
            PathAttributeValue::MultiExitDiscriminator(m) => self.med = m.metric(),
            PathAttributeValue::LocalPreference(l) => self.local_pref = l.metric(),
            PathAttributeValue::MpReach(MpReach::Ipv4Unicast {
                next_hop: nh, nlri, ..
            }) => {
                let IpAddr::V4(nh) = *nh else {
                    // An IPv6 next hop for IPv4 NLRI (RFC 8950) was not negotiated.
                    return Err(Notification::optional_attribute_error());
                };
                self.mp_next_hop = Some(IpAddr::V4(nh));
                let prefixes = nlri
                    .iter()
                    .map(|a| IpNet::V4(a.network().address().trunc()));
                self.mp_announced.extend(prefixes);
            }
            PathAttributeValue::MpReach(MpReach::Ipv6Unicast {
                next_hop_global,
                nlri,
                ..
            }) => {
                self.mp_next_hop = Some(IpAddr::V6(*next_hop_global));
                let prefixes = nlri
                    .iter()
                    .map(|a| IpNet::V6(a.network().address().trunc()));
                self.mp_announced.extend(prefixes);
            }
            PathAttributeValue::MpUnreach(MpUnreach::Ipv4Unicast { nlri }) => {
                let prefixes = nlri
                    .iter()
                    .map(|a| IpNet::V4(a.network().address().trunc()));
                self.mp_withdrawn.extend(prefixes);
            }
            PathAttributeValue::MpUnreach(MpUnreach::Ipv6Unicast { nlri }) => {
                let prefixes = nlri
                    .iter()
                    .map(|a| IpNet::V6(a.network().address().trunc()));
                self.mp_withdrawn.extend(prefixes);
            }
            _ => {}
        }
        Ok(())
    }
}

fn update_of(update: &BgpUpdateMessage, asn4: bool) -> Result<Update, Notification> {
    let prefixes = |list: &[Ipv4UnicastAddress]| -> Vec<IpNet> {
        list.iter()
            .map(|a| IpNet::V4(a.network().address().trunc()))
            .collect()
    };
    let mut withdrawn = prefixes(update.withdraw_routes());
    let announced = prefixes(update.nlri());
    let r = ReadAttrs::read(update)?;
    withdrawn.extend(r.mp_withdrawn);
    if announced.is_empty() && r.mp_announced.is_empty() {
        return Ok(Update {
            withdrawn,
            announced: Vec::new(),
        });
    }
    // RFC 4271 §6.3: ORIGIN (1) and AS_PATH (2) are mandatory when there is
    // NLRI, and NEXT_HOP (3) too when it is in the body (RFC 4760 §3: MP_REACH
    // carries its own).
    let Some(origin) = r.origin else {
        return Err(Notification::missing_well_known(1));
    };
    let Some(mut as_path) = r.as_path else {
        return Err(Notification::missing_well_known(2));
    };
    // RFC 6793 §4.2.3: a 2-octet peer carries 4-octet ASes in AS4_PATH; keep
    // AS_PATH's leading ASes that AS4_PATH does not cover.
    if let (false, Some(as4)) = (asn4, r.as4_path)
        && as4.len() <= as_path.len()
    {
        as_path.truncate(as_path.len() - as4.len());
        as_path.extend(as4);
    }
    let attrs = |next_hop: IpAddr| -> Result<PathAttrs, Notification> {
        if !usable_next_hop(next_hop) {
            return Err(Notification::invalid_next_hop(next_hop));
        }
        Ok(PathAttrs {
            next_hop,
            as_path: as_path.clone(),
            origin,
            local_pref: r.local_pref,
            med: r.med,
        })
    };
    let mut out = Vec::with_capacity(announced.len() + r.mp_announced.len());
    if !announced.is_empty() {
        let Some(next_hop) = r.next_hop else {
            return Err(Notification::missing_well_known(3));
        };
        let a = attrs(IpAddr::V4(next_hop))?;
        out.extend(announced.into_iter().map(|p| (p, a.clone())));
    }
    if let Some(nh) = r.mp_next_hop.filter(|_| !r.mp_announced.is_empty()) {
        let a = attrs(nh)?;
        out.extend(r.mp_announced.into_iter().map(|p| (p, a.clone())));
    }
    Ok(Update {
        withdrawn,
        announced: out,
    })
}

/// Whether a next hop can be used (RFC 4271 §6.3, RFC 2545 §3): not
/// unspecified or multicast, not IPv4 broadcast; an IPv6 next hop is a
/// global address (a link-local one may only ride beside it).
fn usable_next_hop(next_hop: IpAddr) -> bool {
    match next_hop {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => {
            !(a.is_unspecified()
                || a.is_multicast()
                || a.is_loopback()
                || a.is_unicast_link_local())
        }
    }
}

/// The message's bytes; empty if netgauze refuses it (nothing built here
/// should be refused: UPDATEs are split below 4096 bytes) or it comes out
/// longer than a BGP message may be, so that a half-written message is never
/// sent.
fn write(msg: BgpMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len());
    match msg.write(&mut out) {
        Ok(()) if out.len() <= MAX_LEN => out,
        Ok(()) => Vec::new(),
        Err(e) => {
            debug_assert!(false, "netgauze refused a message vrsim built: {e:?}");
            Vec::new()
        }
    }
}

/// Our OPEN: version 4, `asn` (AS_TRANS in the 2-octet field when it does not
/// fit), the hold time, the identifier, and the capabilities IPv4 unicast
/// and IPv6 unicast (RFC 4760) and 4-octet AS (RFC 6793).
pub fn encode_open(asn: u32, hold_time: u16, router_id: Ipv4Addr) -> Vec<u8> {
    let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
    let caps = vec![
        BgpCapability::MultiProtocolExtensions(MultiProtocolExtensionsCapability::new(
            AddressType::Ipv4Unicast,
        )),
        BgpCapability::MultiProtocolExtensions(MultiProtocolExtensionsCapability::new(
            AddressType::Ipv6Unicast,
        )),
        BgpCapability::FourOctetAs(FourOctetAsCapability::new(asn)),
    ];
    write(BgpMessage::Open(BgpOpenMessage::new(
        my_as,
        hold_time,
        router_id,
        vec![BgpOpenMessageParameter::Capabilities(caps.into())],
    )))
}

/// A KEEPALIVE.
pub fn encode_keepalive() -> Vec<u8> {
    write(BgpMessage::KeepAlive)
}

/// How a speaker sends routes on one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    /// Our AS.
    pub local_as: u32,
    /// Whether the peer's AS differs from ours.
    pub ebgp: bool,
    /// Whether 4-octet AS numbers were negotiated.
    pub asn4: bool,
}

/// Prefixes per UPDATE when the rest of the message takes `fixed` bytes: each
/// takes at most 5 bytes of NLRI, and the whole must fit [`MAX_LEN`].
fn prefixes_per_update(fixed: usize) -> usize {
    (MAX_LEN.saturating_sub(fixed) / 5).max(1)
}

fn unicast(prefix: IpNet) -> Option<Ipv4UnicastAddress> {
    let IpNet::V4(prefix) = prefix else {
        return None;
    };
    Ipv4Unicast::from_net(prefix.trunc())
        .ok()
        .map(Ipv4UnicastAddress::new_no_path_id)
}

fn unicast6(prefix: IpNet) -> Option<Ipv6UnicastAddress> {
    let IpNet::V6(prefix) = prefix else {
        return None;
    };
    Ipv6Unicast::from_net(prefix.trunc())
        .ok()
        .map(|n| Ipv6UnicastAddress::new(None, n))
}

/// The attributes of an UPDATE announcing with `attrs`: NEXT_HOP for an
/// IPv4 next hop; for an IPv6 one the caller's `mp_reach` (MP_REACH_NLRI,
/// which carries the next hop and the NLRI) instead.
fn attributes(
    s: Sender,
    attrs: &PathAttrs,
    mp_reach: Option<PathAttributeValue>,
) -> Vec<PathAttribute> {
    let mut path: Vec<u32> = Vec::with_capacity(attrs.as_path.len() + 1);
    if s.ebgp {
        path.push(s.local_as);
    }
    path.extend(&attrs.as_path);
    let mut values = vec![PathAttributeValue::Origin(match attrs.origin {
        Origin::Igp => WireOrigin::IGP,
        Origin::Egp => WireOrigin::EGP,
        Origin::Incomplete => WireOrigin::Incomplete,
    })];
    // AS_SEQUENCE segments of at most 255 ASes (the count is one octet).
    let seq4 = |p: &[u32]| -> Vec<As4PathSegment> {
        p.chunks(255)
            .map(|c| As4PathSegment::new(AsPathSegmentType::AsSequence, c.to_vec()))
            .collect()
    };
    let seq2 = |p: &[u32]| -> Vec<As2PathSegment> {
        p.chunks(255)
            .map(|c| {
                let two: Vec<u16> = c
                    .iter()
                    .map(|&a| u16::try_from(a).unwrap_or(AS_TRANS))
                    .collect();
                As2PathSegment::new(AsPathSegmentType::AsSequence, two)
            })
            .collect()
    };
    if s.asn4 {
        values.push(PathAttributeValue::AsPath(AsPath::As4PathSegments(
            seq4(&path).into(),
        )));
    } else {
        values.push(PathAttributeValue::AsPath(AsPath::As2PathSegments(
            seq2(&path).into(),
        )));
        // A 2-octet peer and a 4-octet AS in the path: AS_TRANS in AS_PATH and
        // the real path in AS4_PATH (RFC 6793 §4.2.2).
        if path.iter().any(|&a| a > u32::from(u16::MAX)) {
            values.push(PathAttributeValue::As4Path(As4Path::new(seq4(&path))));
        }
    }
    if let IpAddr::V4(next_hop) = attrs.next_hop {
        values.push(PathAttributeValue::NextHop(NextHop::new(next_hop)));
    }
    values.extend(mp_reach);
    if attrs.med != 0 && !s.ebgp {
        values.push(PathAttributeValue::MultiExitDiscriminator(
            MultiExitDiscriminator::new(attrs.med),
        ));
    }
    if !s.ebgp {
        values.push(PathAttributeValue::LocalPreference(LocalPreference::new(
            attrs.local_pref,
        )));
    }
    let mut attrs: Vec<PathAttribute> = values
        .into_iter()
        .filter_map(|v| {
            let optional = v.can_be_optional().unwrap_or(true);
            let transitive = v.can_be_transitive().unwrap_or(true);
            // The extended-length flag for values over 255 bytes (long paths).
            let probe = PathAttribute::from(optional, transitive, false, false, v).ok()?;
            let long = probe.len() > 3 + 255;
            PathAttribute::from(optional, transitive, false, long, probe.value().clone()).ok()
        })
        .collect();
    // §5: attributes in ascending type order.
    attrs.sort_by_key(|a| a.path_attribute_type().map_or_else(|c| c, u8::from));
    attrs
}

/// UPDATEs that withdraw `withdraw` and announce `announce` (prefixes with
/// equal attributes share a message): IPv4 unicast in the body with
/// NEXT_HOP, IPv6 unicast in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) with
/// the next hop as the global address (RFC 2545). Prefixes that cannot be
/// carried (multicast ranges, an IPv4 prefix with an IPv6 next hop or the
/// other way round) are left out.
pub fn encode_updates(
    s: Sender,
    withdraw: &[IpNet],
    announce: &[(IpNet, PathAttrs)],
) -> Vec<Vec<u8>> {
    encode_updates_checked(s, withdraw, announce).0
}

/// As [`encode_updates`], with the announced prefixes that could not be sent:
/// those whose attributes leave no room for them in a 4096-byte message (a
/// path of hundreds of ASes), or that cannot be carried.
pub fn encode_updates_checked(
    s: Sender,
    withdraw: &[IpNet],
    announce: &[(IpNet, PathAttrs)],
) -> (Vec<Vec<u8>>, Vec<IpNet>) {
    let mut out = Vec::new();
    let withdrawn4: Vec<_> = withdraw.iter().filter_map(|&p| unicast(p)).collect();
    for chunk in withdrawn4.chunks(prefixes_per_update(HEADER_LEN + 4)) {
        out.push(write(BgpMessage::Update(BgpUpdateMessage::new(
            chunk.to_vec(),
            Vec::new(),
            Vec::new(),
        ))));
    }
    let withdrawn6: Vec<_> = withdraw.iter().filter_map(|&p| unicast6(p)).collect();
    // Each IPv6 prefix takes at most 17 bytes after the 3 of AFI and SAFI.
    for chunk in withdrawn6.chunks(MAX_LEN.saturating_sub(HEADER_LEN + 4 + 4 + 3) / 17) {
        let unreach = PathAttributeValue::MpUnreach(MpUnreach::Ipv6Unicast {
            nlri: chunk.to_vec().into(),
        });
        let attrs = PathAttribute::from(true, false, false, true, unreach)
            .map(|a| vec![a])
            .unwrap_or_default();
        out.push(write(BgpMessage::Update(BgpUpdateMessage::new(
            Vec::new(),
            attrs,
            Vec::new(),
        ))));
    }
    let (mut groups4, mut groups6, mut unsent) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for (prefix, attrs) in announce {
        match (unicast(*prefix), unicast6(*prefix), attrs.next_hop) {
            (Some(a), _, IpAddr::V4(_)) => groups4.entry(attrs).or_insert_with(Vec::new).push(a),
            (_, Some(a), IpAddr::V6(_)) => groups6.entry(attrs).or_insert_with(Vec::new).push(a),
            _ => unsent.push(*prefix),
        }
    }
    for (attrs, prefixes) in groups4 {
        let attributes = attributes(s, attrs, None);
        let fixed = HEADER_LEN + 4 + attributes.iter().map(|a| a.len()).sum::<usize>();
        for chunk in prefixes.chunks(prefixes_per_update(fixed)) {
            let m = write(BgpMessage::Update(BgpUpdateMessage::new(
                Vec::new(),
                attributes.clone(),
                chunk.to_vec(),
            )));
            // A message netgauze refused or that came out too long is not sent.
            if m.is_empty() {
                unsent.extend(chunk.iter().map(|a| IpNet::V4(a.network().address())));
            } else {
                out.push(m);
            }
        }
    }
    for (attrs, prefixes) in groups6 {
        out.extend(announce6(s, attrs, &prefixes, &mut unsent));
    }
    out.retain(|m| !m.is_empty());
    (out, unsent)
}

/// The UPDATEs announcing IPv6 `prefixes` with `attrs` (an IPv6 next hop):
/// MP_REACH_NLRI carries them, as many per message as fit; what does not
/// fit in any message goes to `unsent`.
fn announce6(
    s: Sender,
    attrs: &PathAttrs,
    prefixes: &[Ipv6UnicastAddress],
    unsent: &mut Vec<IpNet>,
) -> Vec<Vec<u8>> {
    let IpAddr::V6(next_hop_global) = attrs.next_hop else {
        return Vec::new();
    };
    let reach = |nlri: &[Ipv6UnicastAddress]| {
        PathAttributeValue::MpReach(MpReach::Ipv6Unicast {
            next_hop_global,
            next_hop_local: None,
            nlri: nlri.to_vec().into(),
        })
    };
    // The attributes around an empty MP_REACH_NLRI: what each message costs
    // before its prefixes (17 bytes each at most).
    let fixed = HEADER_LEN
        + 4
        + attributes(s, attrs, Some(reach(&[])))
            .iter()
            .map(|a| a.len())
            .sum::<usize>();
    let per = (MAX_LEN.saturating_sub(fixed + 1) / 17).max(1);
    let mut out = Vec::new();
    for chunk in prefixes.chunks(per) {
        let m = write(BgpMessage::Update(BgpUpdateMessage::new(
            Vec::new(),
            attributes(s, attrs, Some(reach(chunk))),
            Vec::new(),
        )));
        if m.is_empty() {
            unsent.extend(chunk.iter().map(|a| IpNet::V6(a.network().address())));
        } else {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("prefix")
    }

    fn v6(s: &str) -> std::net::Ipv6Addr {
        s.parse().expect("address")
    }

    #[test]
    fn ipv6_unicast_round_trips_in_mp_reach_and_mp_unreach() {
        let s = Sender {
            local_as: 64512,
            ebgp: true,
            asn4: true,
        };
        let attrs = PathAttrs::new(v6("fd00:172:16:10::3"), vec![65000]);
        let block = net("fd80:24e2:f998:72d6::/122");
        let (msgs, unsent) = encode_updates_checked(
            s,
            &[net("2001:db8:dead::/48")],
            &[
                (block, attrs.clone()),
                (net("192.168.100.0/26"), attrs.clone()),
            ],
        );
        // The IPv4 prefix with an IPv6 next hop (RFC 8950) is not sent.
        assert_eq!(unsent, vec![net("192.168.100.0/26")]);
        assert_eq!(msgs.len(), 2);
        let Ok(Message::Update(w)) = decode(&msgs[0], true) else {
            panic!("not an UPDATE")
        };
        assert_eq!(
            (w.withdrawn, w.announced.len()),
            (vec![net("2001:db8:dead::/48")], 0)
        );
        let Ok(Message::Update(u)) = decode(&msgs[1], true) else {
            panic!("not an UPDATE")
        };
        let [(prefix, got)] = &u.announced[..] else {
            panic!("{u:?}")
        };
        assert_eq!(*prefix, block);
        assert_eq!(got.next_hop, IpAddr::V6(v6("fd00:172:16:10::3")));
        assert_eq!(got.as_path, vec![64512, 65000]);
        // MP_REACH_NLRI (type 14) carries the next hop; no NEXT_HOP (3).
        let body = &msgs[1][HEADER_LEN + 4..];
        assert!(
            body.windows(2).any(|w| w == [0x90, 14] || w == [0x80, 14]),
            "{body:02x?}"
        );
    }

    #[test]
    fn an_ipv6_next_hop_with_a_link_local_beside_it_keeps_the_global() {
        let reach = PathAttributeValue::MpReach(MpReach::Ipv6Unicast {
            next_hop_global: v6("2001:db8::1"),
            next_hop_local: Some(v6("fe80::1")),
            nlri: vec![unicast6(net("2001:db8:1::/48")).expect("unicast")].into(),
        });
        let update = |reach: PathAttributeValue| {
            let mut attrs = attributes(
                Sender {
                    local_as: 65000,
                    ebgp: false,
                    asn4: true,
                },
                &PathAttrs::new(v6("2001:db8::1"), vec![]),
                Some(reach),
            );
            attrs.sort_by_key(|a| a.path_attribute_type().map_or_else(|c| c, u8::from));
            write(BgpMessage::Update(BgpUpdateMessage::new(
                Vec::new(),
                attrs,
                Vec::new(),
            )))
        };
        let Ok(Message::Update(u)) = decode(&update(reach), true) else {
            panic!("not an UPDATE")
        };
        assert_eq!(u.announced[0].1.next_hop, IpAddr::V6(v6("2001:db8::1")));
        // A link-local address as the global next hop is refused.
        let bad = PathAttributeValue::MpReach(MpReach::Ipv6Unicast {
            next_hop_global: v6("fe80::1"),
            next_hop_local: None,
            nlri: vec![unicast6(net("2001:db8:1::/48")).expect("unicast")].into(),
        });
        let Err(n) = decode(&update(bad), true) else {
            panic!("accepted a link-local next hop")
        };
        assert_eq!((n.code, n.subcode), (3, 8));
    }

    #[test]
    fn our_open_offers_ipv4_and_ipv6_unicast() {
        let bytes = encode_open(64512, 90, Ipv4Addr::new(10, 0, 0, 10));
        // Capability 1 (multiprotocol), length 4: AFI 1 / SAFI 1 and AFI 2 / SAFI 1.
        assert!(bytes.windows(6).any(|w| w == [1, 4, 0, 1, 0, 1]));
        assert!(bytes.windows(6).any(|w| w == [1, 4, 0, 2, 0, 1]));
    }

    #[test]
    fn open_round_trip() {
        let bytes = encode_open(64512, 90, Ipv4Addr::new(10, 0, 0, 10));
        assert_eq!(frame(&bytes), Ok(Some(bytes.len())));
        let Ok(Message::Open(open)) = decode(&bytes, false) else {
            panic!("not an OPEN")
        };
        assert_eq!(open.asn, 64512);
        assert_eq!(open.hold_time, 90);
        assert!(open.four_octet);
        let big = encode_open(4_200_000_000, 90, Ipv4Addr::new(10, 0, 0, 10));
        let Ok(Message::Open(open)) = decode(&big, false) else {
            panic!("not an OPEN")
        };
        assert_eq!((open.my_as, open.asn), (AS_TRANS, 4_200_000_000));
    }

    #[test]
    fn update_round_trip_ebgp_prepends_our_as() {
        let attrs = PathAttrs::new(Ipv4Addr::new(172, 16, 10, 1), vec![65000]);
        for asn4 in [true, false] {
            let s = Sender {
                local_as: 64512,
                ebgp: true,
                asn4,
            };
            let msgs = encode_updates(
                s,
                &[net("10.9.0.0/16")],
                &[(net("192.168.100.0/26"), attrs.clone())],
            );
            assert_eq!(msgs.len(), 2);
            let Ok(Message::Update(w)) = decode(&msgs[0], asn4) else {
                panic!("not an UPDATE")
            };
            assert_eq!(w.withdrawn, vec![net("10.9.0.0/16")]);
            let Ok(Message::Update(u)) = decode(&msgs[1], asn4) else {
                panic!("not an UPDATE")
            };
            let [(prefix, got)] = &u.announced[..] else {
                panic!("{u:?}")
            };
            assert_eq!(*prefix, net("192.168.100.0/26"));
            assert_eq!(got.as_path, vec![64512, 65000]);
            assert_eq!(got.next_hop, Ipv4Addr::new(172, 16, 10, 1));
        }
    }

    #[test]
    fn four_octet_path_through_a_two_octet_session() {
        let attrs = PathAttrs::new(Ipv4Addr::new(172, 16, 10, 1), vec![4_200_000_000, 65000]);
        let s = Sender {
            local_as: 64512,
            ebgp: true,
            asn4: false,
        };
        let msgs = encode_updates(s, &[], &[(net("192.168.100.0/26"), attrs)]);
        let Ok(Message::Update(u)) = decode(&msgs[0], false) else {
            panic!("not an UPDATE")
        };
        assert_eq!(u.announced[0].1.as_path, vec![64512, 4_200_000_000, 65000]);
    }

    #[test]
    fn long_paths_use_extended_lengths_and_several_segments() {
        // 300 ASes: two AS_SEQUENCE segments (255 + 46 with ours), a
        // 4-octet AS_PATH of 1,212 bytes (extended length), and 700 prefixes
        // spread over messages that each fit 4096 bytes.
        let path: Vec<u32> = (0..300).map(|i| 4_200_000_000 + i).collect();
        let attrs = PathAttrs::new(Ipv4Addr::new(172, 16, 10, 1), path.clone());
        let prefixes: Vec<(IpNet, PathAttrs)> = (0..700u32)
            .map(|i| {
                let p =
                    IpNet::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)).into(), 24).expect("prefix");
                (p, attrs.clone())
            })
            .collect();
        for asn4 in [true, false] {
            let s = Sender {
                local_as: 64512,
                ebgp: true,
                asn4,
            };
            let msgs = encode_updates(s, &[], &prefixes);
            assert!(msgs.len() >= 2);
            let mut seen = 0;
            for m in &msgs {
                assert!(m.len() <= MAX_LEN);
                let Ok(Message::Update(u)) = decode(m, asn4) else {
                    panic!("does not decode")
                };
                for (_, a) in &u.announced {
                    assert_eq!(a.as_path.len(), 301);
                    assert_eq!(a.as_path[1..], path[..]);
                }
                seen += u.announced.len();
            }
            assert_eq!(seen, 700);
        }
    }

    #[test]
    fn routes_too_big_to_send_are_reported() {
        // 1,100 4-octet ASes to a 2-octet peer: AS_PATH and AS4_PATH together
        // exceed 4096 bytes.
        let path: Vec<u32> = (0..1100).map(|i| 4_200_000_000 + i).collect();
        let attrs = PathAttrs::new(Ipv4Addr::new(172, 16, 10, 1), path);
        let s = Sender {
            local_as: 64512,
            ebgp: true,
            asn4: false,
        };
        let (msgs, unsent) = encode_updates_checked(s, &[], &[(net("10.1.0.0/16"), attrs)]);
        assert!(msgs.is_empty());
        assert_eq!(unsent, vec![net("10.1.0.0/16")]);
    }

    #[test]
    fn notifications_are_read_whatever_their_codes() {
        // Code 8 (RFC 9687) and an unassigned Cease subcode: read, not answered.
        for (code, subcode) in [(8, 0), (6, 42)] {
            let n = Notification {
                code,
                subcode,
                data: vec![1, 2],
            };
            assert_eq!(decode(&n.to_bytes(), true), Ok(Message::Notification(n)));
        }
        // A NOTIFICATION without its two code bytes has a bad length.
        let mut short = Notification::admin_shutdown().to_bytes();
        short.truncate(HEADER_LEN + 1);
        short[17] = (HEADER_LEN + 1) as u8;
        assert_eq!(frame(&short).map_err(|n| (n.code, n.subcode)), Err((1, 2)));
    }

    #[test]
    fn short_messages_have_bad_length() {
        // An OPEN of 25 bytes and an UPDATE of 21: Bad Message Length (§6.1).
        for (kind, len) in [(1u8, 25u16), (2, 21)] {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&len.to_be_bytes());
            m.push(kind);
            m.resize(usize::from(len), 0);
            assert_eq!(frame(&m).map_err(|n| (n.code, n.subcode)), Err((1, 2)));
        }
    }

    fn update_with_attrs(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0];
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(attrs);
        body.extend_from_slice(nlri);
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        msg.push(2);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn unknown_well_known_attribute_is_update_error_3_2() {
        // ORIGIN, AS_PATH, NEXT_HOP and a well-known (not optional) type 99.
        let attrs = [
            0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 172, 16, 10, 3, 0x40, 99, 1, 0,
        ];
        let err = decode(&update_with_attrs(&attrs, &[8, 10]), true).expect_err("must fail");
        assert_eq!(
            (err.code, err.subcode, err.data.as_slice()),
            (3, 2, &[99u8][..])
        );
    }

    #[test]
    fn mp_unreach_withdraws_ipv4_unicast() {
        // MP_UNREACH_NLRI (optional, type 15): AFI 1, SAFI 1, 192.168.100.0/26.
        let attrs = [0x80, 15, 8, 0, 1, 1, 26, 192, 168, 100, 0];
        let got = decode(&update_with_attrs(&attrs, &[]), true);
        let Ok(Message::Update(u)) = got else {
            panic!("does not decode: {got:?}")
        };
        assert_eq!(u.withdrawn, vec![net("192.168.100.0/26")]);
    }

    #[test]
    fn missing_next_hop_is_update_error_3_3() {
        // An UPDATE with ORIGIN and AS_PATH but no NEXT_HOP, NLRI 10.0.0.0/8.
        let msg = update_with_attrs(&[0x40, 1, 1, 0, 0x40, 2, 0], &[8, 10]);
        let err = decode(&msg, true).expect_err("must fail");
        assert_eq!(
            (err.code, err.subcode, err.data.as_slice()),
            (3, 3, &[3u8][..])
        );
        assert_eq!(
            err.to_string(),
            "UPDATE Message Error (3) / Missing Well-known Attribute (3)"
        );
    }

    #[test]
    fn header_errors() {
        let mut msg = encode_keepalive();
        msg[3] = 0;
        assert_eq!(frame(&msg).map_err(|n| (n.code, n.subcode)), Err((1, 1)));
        let mut msg = encode_keepalive();
        msg[17] = 18;
        assert_eq!(frame(&msg).map_err(|n| (n.code, n.subcode)), Err((1, 2)));
        let mut msg = encode_keepalive();
        msg[18] = 9;
        assert_eq!(
            decode(&msg, true).map_err(|n| (n.code, n.subcode)),
            Err((1, 3))
        );
        assert_eq!(frame(&msg[..10]), Ok(None));
    }

    #[test]
    fn notifications_have_rfc_numbers() {
        for (n, code, sub) in [
            (Notification::bad_peer_as(65001), 2, 2),
            (Notification::unacceptable_hold_time(1), 2, 6),
            (Notification::hold_timer_expired(), 4, 0),
            (Notification::fsm_error(3), 5, 3),
            (Notification::admin_shutdown(), 6, 2),
            (Notification::connection_rejected(), 6, 5),
            (Notification::connection_collision(), 6, 7),
            (
                Notification::invalid_next_hop(Ipv4Addr::UNSPECIFIED.into()),
                3,
                8,
            ),
        ] {
            assert_eq!((n.code, n.subcode), (code, sub), "{n}");
            let Ok(Message::Notification(back)) = decode(&n.to_bytes(), true) else {
                panic!("{n} does not decode")
            };
            assert_eq!(back, n);
        }
    }
}
