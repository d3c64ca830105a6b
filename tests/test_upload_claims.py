"""Import claims (``upload_claim``) do not pile up: the expiry path prunes those of uploads long gone.

Real uploads folder and real SQLite; the claims are made by the same call the last chunk makes.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from footage import uploads
from footage.db import session_scope
from footage.models import UploadClaim
from footage.settings import get_settings
from footage.upload_expiry import expire_abandoned


def _claims() -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(UploadClaim.upload_id)))


def _age_claim(upload_id: str, seconds: float) -> None:
    with session_scope() as session:
        session.execute(update(UploadClaim).where(UploadClaim.upload_id == upload_id)
                        .values(claimed_at=datetime.now(UTC) - timedelta(seconds=seconds)))


def test_expiry_prunes_claims_of_gone_uploads_and_keeps_the_rest(gw_home: Path) -> None:
    max_age = get_settings().upload_expire_s
    made = [uploads.create("north-gate", f"ch01_2024110705{n:02d}00.mp4", 1000, None, "mia") for n in range(3)]
    gone_old, kept_old, gone_new = (state.id for state in made)
    for upload_id in (gone_old, kept_old, gone_new):
        assert uploads.claim_import(upload_id)
    assert not uploads.claim_import(gone_old), "a claim must be taken once"

    # gone_old: claimed long ago and its upload was removed; the claim has nothing left to protect.
    _age_claim(gone_old, max_age + 60)
    uploads.discard(gone_old)
    # kept_old: claimed long ago but its state file is still read by whoever polls: its claim must stay, or a
    # late last chunk could start a second import.
    _age_claim(kept_old, max_age + 60)
    now = time.time()
    os.utime(uploads.state_path(kept_old), (now, now))
    # gone_new: upload removed, but claimed moments ago: kept until it is as old as the expiry age.
    uploads.discard(gone_new)

    expire_abandoned()
    assert _claims() == {kept_old, gone_new}
    assert uploads.is_claimed(kept_old) and not uploads.claim_import(kept_old)

    _age_claim(gone_new, max_age + 60)
    expire_abandoned()
    assert _claims() == {kept_old}
