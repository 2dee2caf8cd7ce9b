//! One consumer group's state machine (classic protocol), pure: no tokio, no I/O; time
//! is the `now` (ms) each call is given, so tests drive it.
//!
//! States, as Kafka's: Empty → PreparingRebalance (a join) → CompletingRebalance (every
//! member rejoined, or the rebalance deadline passed and the silent ones were removed)
//! → Stable (the leader's SyncGroup) → PreparingRebalance (a join with new protocols, a
//! leave, an expired session) … ; Dead once deleted.
//!
//! Requests that must wait (JoinGroup until the rebalance completes, a follower's
//! SyncGroup until the leader's) leave a slot on their member (`join_result`,
//! `sync_result`) that a later call fills; the async shell waits for the slot.
//!
//! Invariants:
//! - `leader` is a member while the group has members;
//! - a member the leader assigned something is never answered an empty assignment:
//!   the assignment travels with a static member's replacement and with a reload;
//! - the generation only grows.

use std::collections::BTreeMap;

use bytes::Bytes;
use rill_types::ErrorCode;

use super::records::{GroupValue, MemberValue, OffsetValue};

/// Limits and timings of groups.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an Empty
    /// group waits for more members.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`.
    pub max_members: usize,
    /// `offset.metadata.max.bytes`.
    pub max_metadata_bytes: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        Self {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_members: 1_000,
            max_metadata_bytes: 4_096,
        }
    }
}

/// A group's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (offsets may remain).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignments.
    CompletingRebalance,
    /// Assigned.
    Stable,
    /// Deleted.
    Dead,
}

impl GroupState {
    /// Kafka's name (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// NONE or the refusal.
    pub error: Option<ErrorCode>,
    /// The generation.
    pub generation: i32,
    /// The chosen protocol.
    pub protocol: Option<String>,
    /// The protocol type.
    pub protocol_type: Option<String>,
    /// The leader.
    pub leader: String,
    /// The member's id.
    pub member_id: String,
    /// For the leader: every member (id, instance id, metadata for the protocol).
    pub members: Vec<(String, Option<String>, Bytes)>,
    /// Static leader rejoined without a rebalance: it must not reassign (v9).
    pub skip_assignment: bool,
}

impl JoinResult {
    /// A refusal of `member_id`'s join.
    pub fn error(error: ErrorCode, member_id: &str) -> Self {
        Self {
            error: Some(error),
            generation: -1,
            protocol: None,
            protocol_type: None,
            leader: String::new(),
            member_id: member_id.to_owned(),
            members: Vec::new(),
            skip_assignment: false,
        }
    }
}

/// What a join (or sync) call yields: an answer now, or a slot on the member to wait on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending<T> {
    /// Answer now.
    Now(T),
    /// Wait for the member's slot (member id).
    Wait(String),
}

/// A SyncGroup answer: the assignment, or the refusal.
pub type SyncResult = Result<Bytes, ErrorCode>;

/// The JoinGroup request's content.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Member id ("" for a new member).
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Protocol type.
    pub protocol_type: String,
    /// (name, metadata), by preference.
    pub protocols: Vec<(String, Bytes)>,
    /// From JoinGroup v4, a new dynamic member first gets MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
}

/// One member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// (name, metadata), by preference.
    pub protocols: Vec<(String, Bytes)>,
    /// The current assignment.
    pub assignment: Bytes,
    /// When it was last heard from.
    pub last_heard_ms: i64,
    /// It has (re)joined in the current rebalance.
    pub joined: bool,
    /// The answer to its pending JoinGroup.
    pub join_result: Option<JoinResult>,
    /// It waits for its SyncGroup answer.
    pub awaiting_sync: bool,
    /// The answer to its pending SyncGroup.
    pub sync_result: Option<SyncResult>,
}

impl Member {
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn same_protocols(&self, other: &[(String, Bytes)]) -> bool {
        self.protocols == other
    }
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group id.
    pub id: String,
    /// Its state.
    pub state: GroupState,
    /// Its generation.
    pub generation: i32,
    /// Protocol type of its members.
    pub protocol_type: Option<String>,
    /// The protocol chosen for the generation.
    pub protocol: Option<String>,
    /// The leader.
    pub leader: Option<String>,
    /// Members by id (ordered: answers never depend on hash order).
    pub members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, with the deadline to rejoin by.
    pub pending: BTreeMap<String, i64>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), OffsetValue>,
    /// When the current rebalance completes at the latest.
    pub rebalance_deadline_ms: i64,
    /// When the state last changed.
    pub state_timestamp: i64,
    /// The first rebalance of an Empty group waits until then for more members.
    pub initial_delay_until_ms: i64,
    /// The metadata changed and must be written.
    pub dirty: bool,
    /// Replaced static members' old ids, holding the FENCED answers of their waiters.
    fenced: BTreeMap<String, Member>,
    limits: GroupLimits,
}

impl Group {
    /// A new Empty group.
    pub fn new(id: &str, limits: GroupLimits, now: i64) -> Self {
        Self {
            id: id.to_owned(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
            offsets: BTreeMap::new(),
            rebalance_deadline_ms: 0,
            initial_delay_until_ms: 0,
            state_timestamp: now,
            dirty: false,
            fenced: BTreeMap::new(),
            limits,
        }
    }

    /// A group rebuilt from its stored metadata: Stable with its members (their
    /// sessions start now), or Empty.
    pub fn from_value(id: &str, v: GroupValue, limits: GroupLimits, now: i64) -> Self {
        let mut g = Self::new(id, limits, now);
        g.generation = v.generation;
        g.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
        g.protocol = v.protocol;
        g.leader = v.leader;
        g.state_timestamp = v.state_timestamp;
        for m in v.members {
            let protocols = vec![(g.protocol.clone().unwrap_or_default(), m.subscription)];
            g.members.insert(
                m.member_id.clone(),
                Member {
                    id: m.member_id,
                    instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols,
                    assignment: m.assignment,
                    last_heard_ms: now,
                    joined: false,
                    join_result: None,
                    awaiting_sync: false,
                    sync_result: None,
                },
            );
        }
        if g.members.is_empty() {
            g.leader = None;
        } else {
            g.state = GroupState::Stable;
            if g.leader.as_ref().is_none_or(|l| !g.members.contains_key(l)) {
                g.leader = g.members.keys().next().cloned();
            }
        }
        g
    }

    /// The stored form of the group's metadata.
    pub fn to_value(&self) -> GroupValue {
        let protocol = self.protocol.clone().unwrap_or_default();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            state_timestamp: self.state_timestamp,
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    fn set_state(&mut self, s: GroupState, now: i64) {
        self.state = s;
        self.state_timestamp = now;
    }

    /// A fresh member id (Kafka's form: client id, a dash, a UUID), unique across
    /// coordinators and reloads.
    fn new_member_id(&mut self, client_id: &str, _now: i64) -> String {
        format!("{client_id}-{}", uuid::Uuid::new_v4())
    }

    fn member_for_instance(&self, instance: &str) -> Option<String> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance))
            .map(|m| m.id.clone())
    }

    /// The member checks shared by SyncGroup, Heartbeat and OffsetCommit.
    fn check_member(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), ErrorCode> {
        if let Some(inst) = instance_id
            && let Some(owner) = self.member_for_instance(inst)
            && owner != member_id
        {
            return Err(ErrorCode::FencedInstanceId);
        }
        match self.members.get(member_id) {
            None => Err(ErrorCode::UnknownMemberId),
            Some(m) if instance_id.is_some() && m.instance_id.as_deref() != instance_id => {
                Err(ErrorCode::FencedInstanceId)
            }
            Some(_) => Ok(()),
        }
    }

    fn supports(&self, req: &JoinRequest) -> bool {
        if self.members.is_empty() {
            return !req.protocols.is_empty() && !req.protocol_type.is_empty();
        }
        if self.protocol_type.as_deref() != Some(req.protocol_type.as_str()) {
            return false;
        }
        req.protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .filter(|m| m.id != req.member_id)
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: i64) -> Pending<JoinResult> {
        let l = self.limits;
        if self.state == GroupState::Dead {
            return Pending::Now(JoinResult::error(
                ErrorCode::CoordinatorNotAvailable,
                &req.member_id,
            ));
        }
        if req.session_timeout_ms < l.min_session_timeout_ms
            || req.session_timeout_ms > l.max_session_timeout_ms
        {
            return Pending::Now(JoinResult::error(
                ErrorCode::InvalidSessionTimeout,
                &req.member_id,
            ));
        }
        if !self.supports(&req) {
            return Pending::Now(JoinResult::error(
                ErrorCode::InconsistentGroupProtocol,
                &req.member_id,
            ));
        }
        if req.member_id.is_empty() {
            self.join_unknown(req, now)
        } else {
            self.join_known(req, now)
        }
    }

    fn join_unknown(&mut self, req: JoinRequest, now: i64) -> Pending<JoinResult> {
        if let Some(inst) = req.instance_id.clone()
            && let Some(old) = self.member_for_instance(&inst)
        {
            return self.replace_static(&old, req, now);
        }
        if self.members.len() + self.pending.len() >= self.limits.max_members {
            return Pending::Now(JoinResult::error(ErrorCode::GroupMaxSizeReached, ""));
        }
        let id = self.new_member_id(&req.client_id, now);
        if req.instance_id.is_none() && req.require_known_member_id {
            self.pending
                .insert(id.clone(), now + i64::from(req.session_timeout_ms));
            return Pending::Now(JoinResult::error(ErrorCode::MemberIdRequired, &id));
        }
        self.add_member(id, req, now)
    }

    fn add_member(&mut self, id: String, req: JoinRequest, now: i64) -> Pending<JoinResult> {
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        self.members.insert(
            id.clone(),
            Member {
                id: id.clone(),
                instance_id: req.instance_id,
                client_id: req.client_id,
                client_host: req.client_host,
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocols: req.protocols,
                assignment: Bytes::new(),
                last_heard_ms: now,
                joined: true,
                join_result: None,
                awaiting_sync: false,
                sync_result: None,
            },
        );
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(now);
        } else {
            self.prepare_rebalance(now);
        }
        self.waiting_join(&id)
    }

    /// A static member rejoining with an unknown member id: it takes over the old
    /// member (fencing the old id), keeping its assignment.
    fn replace_static(&mut self, old: &str, req: JoinRequest, now: i64) -> Pending<JoinResult> {
        let new_id = self.new_member_id(&req.client_id, now);
        let mut m = self
            .members
            .remove(old)
            .expect("the instance's member exists");
        let unchanged = m.same_protocols(&req.protocols);
        // The old id's waiters see FENCED_INSTANCE_ID; the new id inherits the rest.
        let mut fenced = m.clone();
        fenced.join_result = Some(JoinResult::error(ErrorCode::FencedInstanceId, old));
        fenced.sync_result = Some(Err(ErrorCode::FencedInstanceId));
        self.fenced.insert(old.to_owned(), fenced);
        m.id = new_id.clone();
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.last_heard_ms = now;
        m.join_result = None;
        m.sync_result = None;
        m.awaiting_sync = false;
        if self.leader.as_deref() == Some(old) {
            self.leader = Some(new_id.clone());
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance if unchanged => {
                self.members.insert(new_id.clone(), m);
                self.dirty = true;
                let is_leader = self.leader.as_deref() == Some(new_id.as_str());
                Pending::Now(JoinResult {
                    error: None,
                    generation: self.generation,
                    protocol: self.protocol.clone(),
                    protocol_type: self.protocol_type.clone(),
                    leader: self.leader.clone().unwrap_or_default(),
                    member_id: new_id,
                    members: if is_leader {
                        self.member_list()
                    } else {
                        Vec::new()
                    },
                    skip_assignment: is_leader,
                })
            }
            _ => {
                m.protocols = req.protocols;
                m.joined = true;
                self.members.insert(new_id.clone(), m);
                if self.state == GroupState::PreparingRebalance {
                    self.try_complete_join(now);
                } else {
                    self.prepare_rebalance(now);
                }
                self.waiting_join(&new_id)
            }
        }
    }

    fn join_known(&mut self, req: JoinRequest, now: i64) -> Pending<JoinResult> {
        if self.pending.remove(&req.member_id).is_some() {
            let id = req.member_id.clone();
            return self.add_member(id, req, now);
        }
        if let Err(e) = self.check_member(&req.member_id, req.instance_id.as_deref()) {
            return Pending::Now(JoinResult::error(e, &req.member_id));
        }
        let id = req.member_id.clone();
        let m = self.members.get_mut(&id).expect("checked");
        m.last_heard_ms = now;
        let unchanged = m.same_protocols(&req.protocols);
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        match self.state {
            GroupState::PreparingRebalance => {
                m.protocols = req.protocols;
                m.joined = true;
                m.join_result = None;
                self.try_complete_join(now);
                self.waiting_join(&id)
            }
            GroupState::CompletingRebalance | GroupState::Stable
                if unchanged
                    && (self.state == GroupState::CompletingRebalance
                        || self.leader.as_deref() != Some(id.as_str())) =>
            {
                // A retried join of the current generation: the same answer again.
                Pending::Now(self.join_answer(&id))
            }
            _ => {
                m.protocols = req.protocols;
                m.joined = true;
                m.join_result = None;
                self.prepare_rebalance(now);
                self.waiting_join(&id)
            }
        }
    }

    fn waiting_join(&mut self, id: &str) -> Pending<JoinResult> {
        match self.members.get_mut(id).and_then(|m| m.join_result.take()) {
            Some(r) => Pending::Now(r),
            None => Pending::Wait(id.to_owned()),
        }
    }

    /// Takes the answer of `member`'s pending join, if ready. `None` with the member
    /// gone: it was removed (the caller answers UNKNOWN_MEMBER_ID).
    pub fn take_join(&mut self, member: &str) -> Option<JoinResult> {
        if let Some(f) = self.fenced.get_mut(member) {
            return f.join_result.take();
        }
        match self.members.get_mut(member) {
            None => Some(JoinResult::error(ErrorCode::UnknownMemberId, member)),
            Some(m) => m.join_result.take(),
        }
    }

    /// Takes the answer of `member`'s pending sync, if ready.
    pub fn take_sync(&mut self, member: &str) -> Option<SyncResult> {
        if let Some(f) = self.fenced.get_mut(member) {
            return f.sync_result.take();
        }
        match self.members.get_mut(member) {
            None => Some(Err(ErrorCode::UnknownMemberId)),
            Some(m) => {
                let r = m.sync_result.take();
                if r.is_some() {
                    m.awaiting_sync = false;
                }
                r
            }
        }
    }

    fn member_list(&self) -> Vec<(String, Option<String>, Bytes)> {
        let protocol = self.protocol.clone().unwrap_or_default();
        self.members
            .values()
            .map(|m| (m.id.clone(), m.instance_id.clone(), m.metadata(&protocol)))
            .collect()
    }

    fn join_answer(&self, id: &str) -> JoinResult {
        let is_leader = self.leader.as_deref() == Some(id);
        JoinResult {
            error: None,
            generation: self.generation,
            protocol: self.protocol.clone(),
            protocol_type: self.protocol_type.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: id.to_owned(),
            members: if is_leader {
                self.member_list()
            } else {
                Vec::new()
            },
            skip_assignment: false,
        }
    }

    fn prepare_rebalance(&mut self, now: i64) {
        if self.state == GroupState::CompletingRebalance {
            // Followers waiting for the old generation's assignment retry.
            for m in self.members.values_mut() {
                if m.awaiting_sync {
                    m.awaiting_sync = false;
                    m.sync_result = Some(Err(ErrorCode::RebalanceInProgress));
                }
            }
        }
        let max_rebalance = self
            .members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms.max(0)))
            .max()
            .unwrap_or(0);
        self.rebalance_deadline_ms = now + max_rebalance;
        self.initial_delay_until_ms = if self.state == GroupState::Empty {
            now + i64::from(self.limits.initial_rebalance_delay_ms).min(max_rebalance)
        } else {
            now
        };
        self.set_state(GroupState::PreparingRebalance, now);
        self.try_complete_join(now);
    }

    /// Completes the join phase when every member has rejoined (and no member id
    /// handed out is still expected), or when the deadline has passed (members that did
    /// not rejoin are removed).
    fn try_complete_join(&mut self, now: i64) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.joined) && self.pending.is_empty();
        let deadline_passed = now >= self.rebalance_deadline_ms;
        if !(deadline_passed || (all_joined && now >= self.initial_delay_until_ms)) {
            return;
        }
        let silent: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.joined)
            .map(|m| m.id.clone())
            .collect();
        for id in silent {
            self.members.remove(&id);
        }
        self.pending.clear();
        self.generation += 1;
        self.dirty = true;
        if self.members.is_empty() {
            self.protocol = None;
            self.leader = None;
            self.set_state(GroupState::Empty, now);
            return;
        }
        self.protocol = self.vote();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.set_state(GroupState::CompletingRebalance, now);
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let answer = self.join_answer(&id);
            let m = self.members.get_mut(&id).expect("listed");
            m.joined = false;
            m.join_result = Some(answer);
        }
    }

    /// The protocol every member supports that most members prefer (Kafka's vote):
    /// each member votes for its first supported candidate.
    fn vote(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(x, _)| x == *n))
            })
            .collect();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                *votes.entry(n).or_default() += 1;
            }
        }
        // Ties go to the first member's preference order.
        candidates
            .iter()
            .max_by_key(|c| {
                (
                    votes.get(*c).copied().unwrap_or(0),
                    std::cmp::Reverse(candidates.iter().position(|x| x == *c)),
                )
            })
            .map(|c| (*c).clone())
    }

    /// SyncGroup.
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: i64,
    ) -> Pending<SyncResult> {
        if let Err(e) = self.check_member(member_id, instance_id) {
            return Pending::Now(Err(e));
        }
        if generation != self.generation {
            return Pending::Now(Err(ErrorCode::IllegalGeneration));
        }
        self.members
            .get_mut(member_id)
            .expect("checked")
            .last_heard_ms = now;
        match self.state {
            GroupState::Empty | GroupState::Dead => Pending::Now(Err(ErrorCode::UnknownMemberId)),
            GroupState::PreparingRebalance => Pending::Now(Err(ErrorCode::RebalanceInProgress)),
            GroupState::Stable => Pending::Now(Ok(self.members[member_id].assignment.clone())),
            GroupState::CompletingRebalance => {
                self.members
                    .get_mut(member_id)
                    .expect("checked")
                    .awaiting_sync = true;
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: BTreeMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                        if m.awaiting_sync {
                            m.awaiting_sync = false;
                            m.sync_result = Some(Ok(m.assignment.clone()));
                        }
                    }
                    self.set_state(GroupState::Stable, now);
                    self.dirty = true;
                }
                match self.take_sync(member_id) {
                    Some(r) => Pending::Now(r),
                    None => Pending::Wait(member_id.to_owned()),
                }
            }
        }
    }

    /// Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: i64,
    ) -> Result<(), ErrorCode> {
        if matches!(self.state, GroupState::Empty | GroupState::Dead) {
            return Err(ErrorCode::UnknownMemberId);
        }
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        self.members
            .get_mut(member_id)
            .expect("checked")
            .last_heard_ms = now;
        match self.state {
            GroupState::PreparingRebalance => Err(ErrorCode::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// LeaveGroup of one member (by instance id when given, else by member id).
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: i64,
    ) -> Result<(), ErrorCode> {
        let id = match instance_id {
            Some(inst) => match self.member_for_instance(inst) {
                None => return Err(ErrorCode::UnknownMemberId),
                Some(owner) if !member_id.is_empty() && owner != member_id => {
                    return Err(ErrorCode::FencedInstanceId);
                }
                Some(owner) => owner,
            },
            None => {
                if self.pending.remove(member_id).is_some() {
                    return Ok(());
                }
                if !self.members.contains_key(member_id) {
                    return Err(ErrorCode::UnknownMemberId);
                }
                member_id.to_owned()
            }
        };
        self.remove_member(&id, now);
        Ok(())
    }

    fn remove_member(&mut self, id: &str, now: i64) {
        self.members.remove(id);
        if self.leader.as_deref() == Some(id) {
            self.leader = self.members.keys().next().cloned();
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now),
            GroupState::PreparingRebalance => self.try_complete_join(now),
            _ => {}
        }
    }

    /// Time passes: expired sessions and pending ids go, a due rebalance completes.
    pub fn tick(&mut self, now: i64) {
        self.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                // A member parked in a join is kept alive by the rebalance deadline.
                !(m.awaiting_sync || m.joined && self.state == GroupState::PreparingRebalance)
                    && now >= m.last_heard_ms + i64::from(m.session_timeout_ms)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            self.remove_member(&id, now);
        }
        self.try_complete_join(now);
        // Fenced ids linger only until their waiters have seen the answer.
        self.fenced
            .retain(|_, f| f.join_result.is_some() || f.sync_result.is_some());
    }

    /// Checks an OffsetCommit's member and generation. Generation < 0 with an empty
    /// member id is a commit with no membership, allowed while the group is Empty.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: i64,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if generation < 0 && member_id.is_empty() {
            return if self.state == GroupState::Empty {
                Ok(())
            } else {
                Err(ErrorCode::UnknownMemberId)
            };
        }
        if self.state == GroupState::Empty {
            return Err(ErrorCode::UnknownMemberId);
        }
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(ErrorCode::RebalanceInProgress);
        }
        self.members
            .get_mut(member_id)
            .expect("checked")
            .last_heard_ms = now;
        Ok(())
    }

    /// Topics the members' consumer-protocol subscriptions name.
    pub fn subscribed_topics(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        if self.protocol_type.as_deref() != Some("consumer") {
            return out;
        }
        let protocol = self.protocol.clone().unwrap_or_default();
        for m in self.members.values() {
            for t in super::subscription_topics(&m.metadata(&protocol)) {
                out.insert(t);
            }
        }
        out
    }

    /// No members and no offsets: nothing to keep.
    pub fn is_vacant(&self) -> bool {
        self.state == GroupState::Empty && self.offsets.is_empty() && self.pending.is_empty()
    }
}
