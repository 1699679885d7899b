//! The broker's own services on the node-to-node transport, beside the Raft
//! RPCs (`cairn_raft::service`). One list, so two services never share an id.

use cairn_raft::service::FIRST_BROKER_SERVICE;

/// A [`crate::dissemination::knowledge::Heartbeat`] from a peer.
pub const HEARTBEAT: u8 = FIRST_BROKER_SERVICE;
/// A forwarded [`cairn_meta::ControllerRequest`] (see [`crate::metadata`]).
pub const CONTROLLER: u8 = FIRST_BROKER_SERVICE + 1;
/// A group list or description for the admin API (see [`crate::group_views`]).
pub const GROUPS: u8 = FIRST_BROKER_SERVICE + 2;
/// "Stand for election now" for one partition group: the leader hands its
/// leadership over (see [`crate::transfer`]).
pub const ELECT: u8 = FIRST_BROKER_SERVICE + 3;
/// "Hand your leadership of this group to broker N" to a group's leader, for
/// leader balancing and ElectLeaders (see [`crate::transfer::transfer`]).
pub const TRANSFER: u8 = FIRST_BROKER_SERVICE + 4;
/// "Take the next step of moving this group to these replicas" to a group's
/// leader, from the controller (see [`crate::reassign`]).
pub const MOVE: u8 = FIRST_BROKER_SERVICE + 5;
/// "Send me your traffic history and the partitions you lead" for the
/// admin API's `GET /v1/stats` and the console (see [`crate::console::stats`]).
pub const STATS: u8 = FIRST_BROKER_SERVICE + 6;
/// "Trim this group to the offset in the body" to a partition's leader (see
/// [`crate::trim`]).
pub const TRIM: u8 = FIRST_BROKER_SERVICE + 7;
/// "Write this transaction marker to this group" to a partition's leader,
/// from a transaction coordinator (see [`crate::txn::markers`]).
pub const TXN_MARKER: u8 = FIRST_BROKER_SERVICE + 8;
