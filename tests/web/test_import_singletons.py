"""Paper import warns about strata left with a single PSU, and stores the file anyway.

The paper-import province (tests/web/conftest.py): wave W-1 (field survey, lonely-PSU
rule "adjust" by default). PSUs counted are those already stored in the wave plus the
file's, per stratum the file touches.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from survey_app.extensions import db
from survey_app.models import LonelyPSU, Role, Wave
from tests.helpers.paper_import import HEADER, login, stored, text_of, upload


def rows(*lines: str) -> bytes:
    return (HEADER + "\nlabels row,,,,,,,,,,,\n" + "\n".join(lines) + "\n").encode()


def test_a_stratum_with_one_psu_is_stored_with_a_warning(
    client: FlaskClient, province: Wave
) -> None:
    login(client, "ana", Role.ANALYST)
    # X-A gets two PSUs (fine); X-B gets one (a warning naming it and the rule).
    first = upload(
        client,
        rows(
            ",X-A,W-1,X-A,X-A-T1,10,05/03/2024,,4,5,,",
            ",X-A,W-1,X-A,X-A-T2,10,05/03/2024,,3,4,,",
            ",X-B,W-1,X-B,X-B-T1,10,06/03/2024,,5,5,,",
        ),
    )
    page = text_of(first)
    assert first.status_code == 200 and stored() == 3  # a warning, not an error
    assert "Đã nhập tệp: 3 phiếu mới" in page
    assert (
        "Tầng X-B của đợt W-1 chỉ có một PSU; áp dụng quy tắc của đợt cho trường hợp này: "
        "adjust: lấy trung bình chung làm tâm cho PSU đơn lẻ (adjust của R)." in page
    )
    assert "Tầng X-A" not in page

    # A second file with another PSU of X-B: stored PSU + the file's = 2, no warning.
    province.lonely_psu = LonelyPSU.FAIL
    db.session.commit()
    second = upload(client, rows(",X-B,W-1,X-B,X-B-T2,10,07/03/2024,,4,4,,"))
    assert stored() == 4 and "chỉ có một PSU" not in text_of(second)

    # A new stratum on its own, in English, under the "fail" rule.
    third = upload(client, rows(",X-B,W-1,X-C,X-C-T1,10,07/03/2024,,4,4,,"), lang="en")
    assert stored() == 5
    assert (
        "Stratum X-C of wave W-1 has a single PSU; the wave's rule for that applies: "
        "fail: no figure until the design is corrected." in text_of(third).replace("&#39;", "'")
    )


def test_rows_already_stored_warn_no_more(client: FlaskClient, province: Wave) -> None:
    """A file whose rows are all stored already stores nothing, so changes no stratum."""
    province.lonely_psu = LonelyPSU.REMOVE
    db.session.commit()
    login(client, "ana", Role.ANALYST)
    content = rows(",X-B,W-1,X-B,X-B-T1,10,06/03/2024,,5,5,,")
    assert "remove: tầng này không góp phương sai" in text_of(upload(client, content))
    again = text_of(upload(client, content))
    assert "0 phiếu mới, 1 phiếu đã có từ trước" in again and "chỉ có một PSU" not in again
