"""Alert e-mails and the weekly digest through a real SMTP server (aiosmtpd, started here).

Demo province: ``leader`` (Hoàng Mai town, NA-HM) has the Quỳnh Dị burst in scope,
``leader_qn`` (Quảng Ngãi, QNG) a unit outside the funnel limits; neither may receive
the other's alert.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import AlertRule, DigestLog, User
from survey_app.reporting import digest
from survey_app.reporting.alerts.episodes import run as run_alerts
from survey_app.reporting.alerts.inbox import recipients
from survey_app.reporting.alerts.settings import save_settings

pytestmark = pytest.mark.demo
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="khaosat@example.vn")
    try:
        yield handler
    finally:
        controller.stop()


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def set_address(name: str, address: str, **options: bool) -> None:
    save_settings(
        user(name),
        min_change=5,
        email=options.get("email", True),
        digest=options.get("digest", True),
        address=address,
        follow_all=True,
        subscriptions=[],
    )


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def test_new_alerts_are_mailed_once_and_only_within_scope(app: Flask, inbox: Inbox) -> None:
    set_address("leader", "lanhdao.hm@example.vn")
    set_address("leader_qn", "lanhdao.qn@example.vn")
    report = run_alerts(NOW)
    sent = digest.notify(report.opened)
    hm, qn = inbox.to("lanhdao.hm@example.vn"), inbox.to("lanhdao.qn@example.vn")
    assert sent == len(hm) + len(qn) == len(inbox.messages)
    hm_text = "\n".join(body(m) for m in hm)
    qn_text = "\n".join(body(m) for m in qn)
    assert "Quỳnh Dị" in hm_text and "loạt câu trả lời giống hệt nhau" in hm_text
    assert "biểu đồ phễu" in qn_text
    assert "Quỳnh Dị" not in qn_text and "biểu đồ phễu" not in hm_text
    expected = {
        (address, a.id)
        for a in report.opened
        for address, name in (
            ("lanhdao.hm@example.vn", "leader"),
            ("lanhdao.qn@example.vn", "leader_qn"),
        )
        if user(name) in recipients(a)
    }
    assert len(expected) == sent
    # the next run opens nothing and mails nothing; notifying the same alerts again neither
    again = run_alerts(NOW)
    assert again.opened == [] and digest.notify(again.opened) == 0
    assert digest.notify(report.opened) == 0
    assert len(inbox.messages) == sent


def test_weekly_digest_arrives_in_vietnamese_with_the_scorecard_pdf(
    app: Flask, inbox: Inbox
) -> None:
    set_address("leader", "lanhdao.hm@example.vn", email=False)
    set_address("leader_qn", "lanhdao.qn@example.vn", email=False)
    run_alerts(NOW)
    sent = digest.send_digests(NOW)
    assert sorted(d.address for d in sent) == ["lanhdao.hm@example.vn", "lanhdao.qn@example.vn"]
    [hm] = inbox.to("lanhdao.hm@example.vn")
    [qn] = inbox.to("lanhdao.qn@example.vn")
    assert hm["Subject"] == "Tóm tắt cảnh báo hằng tuần, tuần 2026-W49"
    text = body(hm)
    assert "Tóm tắt cảnh báo hằng tuần" in text and "Quỳnh Dị" in text
    assert "Các cảnh báo khác:" in text
    assert "biểu đồ phễu" not in text  # Quảng Ngãi's alert is outside Hoàng Mai's scope
    assert "Quỳnh Dị" not in body(qn) and "biểu đồ phễu" in body(qn)
    # significant changes between the last two waves, as the overview states them
    assert "Các thay đổi có ý nghĩa thống kê giữa hai đợt gần nhất:" in text
    assert "(HM-2018-05 → HM-2018-12): tăng" in text and "có ý nghĩa thống kê (p" in text
    assert "(QN-2021 → QN-2022)" in body(qn) and "HM-2018" not in body(qn)
    [attachment] = list(hm.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith("scorecard-NA-HM-")
    data = attachment.get_content()
    assert data[:5] == b"%PDF-"
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) >= 1
    assert "Hoàng Mai" in "".join(page.extract_text() for page in pages)
    # once per week: a second run sends nothing more
    assert digest.send_digests(NOW) == []
    assert len(inbox.messages) == 2
    logged = db.session.scalar(select(func.count()).select_from(DigestLog))
    assert logged == 2


def test_nothing_is_mailed_while_mail_is_off_and_dry_run_sends_nothing(app: Flask, runner) -> None:
    set_address("leader", "lanhdao.hm@example.vn")
    assert not digest.mail_enabled()
    report = run_alerts(NOW)
    assert any(a.rule == AlertRule.BURST for a in report.opened)
    assert digest.notify(report.opened) == 0
    result = runner.invoke(args=["digest", "send", "--lang", "en"])
    assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output
    result = runner.invoke(
        args=["digest", "send", "--dry-run", "--now", "2026-12-02T03:00:00", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "would send 2026-W49 to leader <lanhdao.hm@example.vn>" in result.output
    assert db.session.scalar(select(func.count()).select_from(DigestLog)) == 0


def test_a_refused_connection_sends_nothing_and_the_next_run_retries(
    app: Flask, inbox: Inbox
) -> None:
    set_address("leader", "lanhdao.hm@example.vn")
    report = run_alerts(NOW)
    port = app.config["MAIL_PORT"]
    with socket.socket() as probe:  # a port with no server behind it
        probe.bind(("127.0.0.1", 0))
        app.config["MAIL_PORT"] = probe.getsockname()[1]
    with pytest.raises(OSError):
        digest.notify(report.opened)
    with pytest.raises(OSError):
        digest.send_digests(NOW)
    assert db.session.scalar(select(func.count()).select_from(DigestLog)) == 0
    app.config["MAIL_PORT"] = port
    assert digest.notify(report.opened) >= 1
    assert digest.send_digests(NOW) and inbox.to("lanhdao.hm@example.vn")
