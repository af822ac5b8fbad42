"""Optional e-mail sending of invitations over SMTP.

Configured by environment variables (see ``config.py``): ``SMTP_HOST`` (unset: no sending; the
CSV export for a mail merge always works), ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``,
``SMTP_FROM``, ``SMTP_STARTTLS``.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


def smtp_configured(config) -> bool:
    return bool(config.get("SMTP_HOST"))


def send_messages(config, messages: list[tuple[str, str, str]]) -> int:
    """Send ``(to, subject, body)`` messages over one SMTP connection; returns how many were
    accepted. Raises ``smtplib.SMTPException`` or ``OSError`` when the server is unreachable."""
    if not messages:
        return 0
    sent = 0
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=20) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        for to, subject, body in messages:
            message = EmailMessage()
            message["From"] = config.get("SMTP_FROM") or "no-reply@localhost"
            message["To"] = to
            message["Subject"] = subject
            message.set_content(body)
            refused = smtp.send_message(message)
            if not refused:
                sent += 1
    return sent
