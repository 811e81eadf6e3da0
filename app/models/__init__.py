"""Every ORM model, imported here so that Alembic sees the whole metadata."""

from app.models.auth import ApiToken, IdempotencyRecord, ImportJob, RateHit, SecurityFlag, SignedOutSession
from app.models.base import Base, SysVersioned
from app.models.codes import CodeItem
from app.models.org import OrgUnit, OrgUnitLanguage, OrgUnitParent, OrgUnitSuccessor, OrgUnitVersion
from app.models.person import (
    Discipline,
    Employment,
    Membership,
    Person,
    PersonVersion,
    Position,
    Qualification,
    Separation,
)
from app.models.stats import IndicatorDefinition, IndicatorRun, Statistic, TitleStandard
from app.models.training import Course, Enrolment, TrainingPlan
from app.models.txn import AccessLog, Change, ChangeUnit, Txn

__all__ = [
    "AccessLog", "ApiToken", "Base", "Change", "ChangeUnit", "CodeItem", "Course", "Discipline", "Employment",
    "Enrolment",
    "IdempotencyRecord", "ImportJob", "IndicatorDefinition", "IndicatorRun", "Membership", "OrgUnit",
    "OrgUnitLanguage", "OrgUnitParent", "OrgUnitSuccessor", "OrgUnitVersion", "Person", "PersonVersion",
    "Position", "Qualification", "RateHit", "SecurityFlag", "SignedOutSession", "Separation", "Statistic",
    "SysVersioned", "TitleStandard", "TrainingPlan", "Txn",
]
