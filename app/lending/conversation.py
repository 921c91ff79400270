"""A loan as the subject of a conversation: its lender and borrower talk on the loan page
(arranging the handover, the return).

Part of the loan kind's registry entry (app/lending/kind.py), so messaging never imports lending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.lending.models import Loan
from app.messaging.subjects import Subject

KIND = "loan"


def _subject(loan: Loan, viewer_id: int) -> Subject:
    is_borrower = viewer_id == loan.borrower_id
    return Subject(
        kind=KIND,
        id=loan.id,
        title=loan.title,
        participant_ids=(loan.borrower_id, loan.lender_id),
        endpoint="lending.detail",
        url_values={"loan_id": loan.id},
        label="Borrowing" if is_borrower else "Lending",
        state=loan.state,
        counterpart=loan.lender if is_borrower else loan.borrower,
    )


def describe_loans(ids: Sequence[int], viewer_id: int) -> dict[int, Subject]:
    """The viewer's loans among `ids` as conversation subjects (one query, none for a loan this
    unit of work has loaded already, as the loan page has)."""
    if len(ids) == 1 and identity_key(Loan, ids[0]) in db.session.identity_map:
        loan = db.session.get(Loan, ids[0])
        loans = [loan] if loan.role_of(viewer_id) else []
    else:
        loans = db.session.scalars(
            select(Loan)
            .where(
                Loan.id.in_(ids), or_(Loan.lender_id == viewer_id, Loan.borrower_id == viewer_id)
            )
            .options(joinedload(Loan.lender), joinedload(Loan.borrower))
        )
    return {loan.id: _subject(loan, viewer_id) for loan in loans}


def loan_had_activity(loan_id: int, at: datetime) -> None:
    """A message is activity: the loan rises in both parties' loan lists."""
    loan = db.session.get(Loan, loan_id)
    if loan is not None:
        loan.updated_at = at
