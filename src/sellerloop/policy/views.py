"""The policy API: the governance policy in force, with the evidence at each level, and promotion one step up.

Anyone may read the policy (a seller sees how far their agents go on their own); only admins and RevOps change
it (policy.autonomy.PROMOTERS), and promotion is policy.autonomy.promote's to allow or refuse, with its
one-line reason: a skipped level, the bar not met, a rule the next level breaks, the shipped default file
(409).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import CATALOGUE
from sellerloop.autonomy.service import evidence, promote
from sellerloop.policy.levels import level_for, placement_for
from sellerloop.policy.models import USE_CASES
from sellerloop.policy.schemas import (
    ActionPolicyOut,
    EvidenceOut,
    LevelOut,
    PolicyOut,
    PromoteRequest,
    PromoteResult,
)
from sellerloop.policy.service import policy_file_in_force, policy_in_force
from sellerloop.web.api import ERRORS, acting_person, require_governor
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api/policy", tags=["policy"], responses=ERRORS)


@router.get("", response_model=PolicyOut, summary="The governance policy in force")
def read_policy(session: Session = Depends(get_session)) -> PolicyOut:
    """Levels per use case and action (as written, and in force under the kill switch), the actions' risk, the
    caps against recommendation fatigue, the promotion bar with the evidence at each level, and the sensitive
    fields."""
    policy = policy_in_force()
    levels = []
    for use_case in USE_CASES:
        for action in (None, *CATALOGUE):
            in_force = level_for(use_case, action, policy)
            levels.append(LevelOut(use_case=use_case, action=action, level=policy.level_of(use_case, action),
                                   in_force=in_force, placement=placement_for(in_force)))
    return PolicyOut(
        file=str(policy_file_in_force()), kill_switch=policy.kill_switch, audit_logging=policy.audit_logging,
        approvers=list(policy.approval.approvers) if policy.approval else [], levels=levels,
        actions=[ActionPolicyOut(action=name, title=spec.title, risk=policy.risk_of(name),
                                 reversible=policy.is_reversible(name)) for name, spec in CATALOGUE.items()],
        caps=policy.caps, promotion=policy.promotion, sensitive_fields=list(policy.sensitive_fields),
        evidence=[EvidenceOut.of(e) for e in evidence(session=session, policy=policy)])


@router.post("/promote", response_model=PromoteResult, summary="Raise a level one step (admins and RevOps)")
def promote_level(body: PromoteRequest, session: Session = Depends(get_session)) -> PromoteResult:
    """Raises the use case's level (or one action's) one step, when its record at the current level meets the
    promotion bar and the next level breaks no rule; rewrites the policy file in force and audits the
    change."""
    person = acting_person(session)
    require_governor(session, to="change an autonomy level")
    before = policy_in_force().level_of(body.use_case, body.action)
    raised = promote(session=session, use_case=body.use_case, action=body.action, by=person.id)
    session.commit()  # the audit entry with the file: the answer says it is done
    return PromoteResult(use_case=body.use_case, action=body.action, from_level=before,
                         to_level=raised.level_of(body.use_case, body.action),
                         file=str(policy_file_in_force()))
