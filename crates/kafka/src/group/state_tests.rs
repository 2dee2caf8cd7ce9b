//! Unit tests of the group state machine, time driven by hand.

use bytes::Bytes;
use rill_types::ErrorCode;

use super::state::{Group, GroupLimits, GroupState, JoinRequest, JoinResult, Pending};

fn limits() -> GroupLimits {
    GroupLimits {
        initial_rebalance_delay_ms: 0,
        ..GroupLimits::default()
    }
}

fn req(member: &str, instance: Option<&str>, protocols: &[(&str, &'static [u8])]) -> JoinRequest {
    JoinRequest {
        member_id: member.to_owned(),
        instance_id: instance.map(str::to_owned),
        client_id: "c".into(),
        client_host: String::new(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|(n, m)| ((*n).to_owned(), Bytes::from_static(m)))
            .collect(),
        require_known_member_id: true,
    }
}

const RANGE: &[(&str, &[u8])] = &[("range", b"r")];

/// A dynamic member's first join (MEMBER_ID_REQUIRED) and rejoin with its id.
fn join_new(g: &mut Group, now: i64) -> Pending<JoinResult> {
    let Pending::Now(r) = g.join(req("", None, RANGE), now) else {
        panic!("a new dynamic member is answered at once");
    };
    assert_eq!(r.error, Some(ErrorCode::MemberIdRequired));
    assert!(!r.member_id.is_empty());
    g.join(req(&r.member_id, None, RANGE), now)
}

fn now_result(p: Pending<JoinResult>) -> JoinResult {
    match p {
        Pending::Now(r) => r,
        Pending::Wait(id) => panic!("{id} waits"),
    }
}

#[test]
fn a_single_member_joins_syncs_and_heartbeats() {
    let mut g = Group::new("g", limits(), 0);
    let r = now_result(join_new(&mut g, 0));
    assert_eq!(r.error, None);
    assert_eq!(r.generation, 1);
    assert_eq!(r.leader, r.member_id);
    assert_eq!(r.members.len(), 1);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let a = Bytes::from_static(b"assignment");
    let s = g.sync(
        &r.member_id,
        None,
        1,
        vec![(r.member_id.clone(), a.clone())],
        1,
    );
    assert_eq!(s, Pending::Now(Ok(a)));
    assert_eq!(g.state, GroupState::Stable);
    assert!(g.dirty, "the new generation is to be written");
    assert_eq!(g.heartbeat(&r.member_id, None, 1, 2), Ok(()));
    assert_eq!(
        g.heartbeat(&r.member_id, None, 0, 2),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        g.heartbeat("nobody", None, 1, 2),
        Err(ErrorCode::UnknownMemberId)
    );
}

#[test]
fn a_second_member_rebalances_and_the_follower_waits_for_the_leaders_assignment() {
    let mut g = Group::new("g", limits(), 0);
    let a = now_result(join_new(&mut g, 0));
    g.sync(&a.member_id, None, 1, vec![], 0);
    // b joins: a rebalance; b waits for a to rejoin.
    let Pending::Wait(b) = join_new(&mut g, 1) else {
        panic!("b waits")
    };
    assert_eq!(
        g.heartbeat(&a.member_id, None, 1, 2),
        Err(ErrorCode::RebalanceInProgress)
    );
    let ra = now_result(g.join(req(&a.member_id, None, RANGE), 3));
    assert_eq!(ra.generation, 2);
    let rb = g.take_join(&b).expect("b's join completed");
    assert_eq!(rb.generation, 2);
    assert!(rb.members.is_empty(), "only the leader gets the members");
    assert_eq!(ra.members.len(), 2);
    // b syncs first and waits; the leader's sync fills b's slot.
    assert_eq!(g.sync(&b, None, 2, vec![], 4), Pending::Wait(b.clone()));
    let (x, y) = (Bytes::from_static(b"x"), Bytes::from_static(b"y"));
    let leader_sync = g.sync(
        &a.member_id,
        None,
        2,
        vec![(a.member_id.clone(), x.clone()), (b.clone(), y.clone())],
        5,
    );
    assert_eq!(leader_sync, Pending::Now(Ok(x)));
    assert_eq!(g.take_sync(&b), Some(Ok(y.clone())));
    // A late retry of b's sync gets the same, non-empty assignment.
    assert_eq!(g.sync(&b, None, 2, vec![], 6), Pending::Now(Ok(y)));
}

#[test]
fn a_silent_member_is_removed_at_the_rebalance_deadline() {
    let mut g = Group::new("g", limits(), 0);
    let a = now_result(join_new(&mut g, 0));
    g.sync(&a.member_id, None, 1, vec![], 0);
    let Pending::Wait(b) = join_new(&mut g, 100) else {
        panic!()
    };
    // a keeps its session (heartbeats answer REBALANCE_IN_PROGRESS) but never rejoins.
    for t in [5_000, 14_000, 23_000] {
        assert_eq!(
            g.heartbeat(&a.member_id, None, 1, t),
            Err(ErrorCode::RebalanceInProgress)
        );
        g.tick(t);
    }
    g.tick(100 + 29_999);
    assert!(g.take_join(&b).is_none(), "still waiting for a");
    g.tick(100 + 30_000);
    let rb = g.take_join(&b).expect("completed at the deadline");
    assert_eq!(rb.leader, b, "a was removed, b leads");
    assert!(!g.members.contains_key(&a.member_id));
}

#[test]
fn an_expired_session_removes_the_member_and_rebalances() {
    let mut g = Group::new("g", limits(), 0);
    let a = now_result(join_new(&mut g, 0));
    g.sync(&a.member_id, None, 1, vec![], 0);
    g.tick(9_999);
    assert_eq!(g.state, GroupState::Stable);
    g.tick(10_000);
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.generation, 2);
    assert!(g.members.is_empty());
}

#[test]
fn a_leave_rebalances_the_members_left() {
    let mut g = Group::new("g", limits(), 0);
    let a = now_result(join_new(&mut g, 0));
    g.sync(&a.member_id, None, 1, vec![], 0);
    let Pending::Wait(b) = join_new(&mut g, 1) else {
        panic!()
    };
    now_result(g.join(req(&a.member_id, None, RANGE), 2));
    g.take_join(&b).unwrap();
    g.sync(&a.member_id, None, 2, vec![], 3);
    assert_eq!(g.leave(&a.member_id, None, 4), Ok(()));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let rb = now_result(g.join(req(&b, None, RANGE), 5));
    assert_eq!((rb.generation, rb.leader.as_str()), (3, b.as_str()));
    assert_eq!(g.leave("nobody", None, 6), Err(ErrorCode::UnknownMemberId));
}

#[test]
fn a_static_member_rejoining_replaces_its_old_id_without_a_rebalance() {
    let mut g = Group::new("g", limits(), 0);
    let r = now_result(g.join(req("", Some("i1"), RANGE), 0));
    assert_eq!(r.error, None, "static members need no MEMBER_ID_REQUIRED");
    let a = Bytes::from_static(b"mine");
    g.sync(
        &r.member_id,
        Some("i1"),
        1,
        vec![(r.member_id.clone(), a.clone())],
        0,
    );
    // Restarted: unknown member id, same instance id and protocols.
    let r2 = now_result(g.join(req("", Some("i1"), RANGE), 1));
    assert_eq!(r2.error, None);
    assert_ne!(r2.member_id, r.member_id);
    assert_eq!(r2.generation, 1, "no rebalance");
    assert_eq!(g.state, GroupState::Stable);
    // The new id keeps the assignment; the old one is fenced.
    assert_eq!(
        g.sync(&r2.member_id, Some("i1"), 1, vec![], 2),
        Pending::Now(Ok(a))
    );
    assert_eq!(
        g.heartbeat(&r.member_id, Some("i1"), 1, 2),
        Err(ErrorCode::FencedInstanceId)
    );
}

#[test]
fn refusals_match_kafka() {
    let mut g = Group::new("g", limits(), 0);
    let mut short = req("", None, RANGE);
    short.session_timeout_ms = 5_999;
    assert_eq!(
        now_result(g.join(short, 0)).error,
        Some(ErrorCode::InvalidSessionTimeout)
    );
    let a = now_result(join_new(&mut g, 0));
    g.sync(&a.member_id, None, 1, vec![], 0);
    let other = now_result(g.join(req("", None, &[("roundrobin", b"")]), 1));
    assert_eq!(other.error, Some(ErrorCode::InconsistentGroupProtocol));
    assert_eq!(
        g.check_commit("", None, -1, 1),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(g.check_commit(&a.member_id, None, 1, 1), Ok(()));
    assert_eq!(
        g.check_commit(&a.member_id, None, 7, 1),
        Err(ErrorCode::IllegalGeneration)
    );
    let mut empty = Group::new("h", limits(), 0);
    assert_eq!(
        empty.check_commit("", None, -1, 0),
        Ok(()),
        "simple consumers commit"
    );
}

#[test]
fn the_group_is_bounded() {
    let mut g = Group::new(
        "g",
        GroupLimits {
            max_members: 1,
            ..limits()
        },
        0,
    );
    now_result(join_new(&mut g, 0));
    let r = now_result(g.join(req("", None, RANGE), 1));
    assert_eq!(r.error, Some(ErrorCode::GroupMaxSizeReached));
}

#[test]
fn the_initial_delay_holds_the_first_rebalance() {
    let mut g = Group::new("g", GroupLimits::default(), 0);
    let Pending::Wait(a) = join_new(&mut g, 0) else {
        panic!("waits for the delay")
    };
    g.tick(2_999);
    assert!(g.take_join(&a).is_none());
    g.tick(3_000);
    assert_eq!(g.take_join(&a).unwrap().generation, 1);
}

#[test]
fn stored_groups_reload_with_their_assignments() {
    let mut g = Group::new("g", limits(), 0);
    let a = now_result(join_new(&mut g, 0));
    let x = Bytes::from_static(b"x");
    g.sync(
        &a.member_id,
        None,
        1,
        vec![(a.member_id.clone(), x.clone())],
        0,
    );
    let v = g.to_value();
    let mut back = Group::from_value("g", v, limits(), 50);
    assert_eq!(back.state, GroupState::Stable);
    assert_eq!(back.generation, 1);
    assert_eq!(
        back.sync(&a.member_id, None, 1, vec![], 60),
        Pending::Now(Ok(x))
    );
    assert_eq!(back.heartbeat(&a.member_id, None, 1, 60), Ok(()));
}
