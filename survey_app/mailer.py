"""Optional e-mail over SMTP: survey invitations and reminders, and customers' complaint updates.

Configured by environment variables (see ``config.py``): ``SMTP_HOST`` (unset: no sending; the
CSV export for a mail merge always works), ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``,
``SMTP_FROM``, ``SMTP_STARTTLS``.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


def smtp_configured(config) -> bool:
    return bool(config.get("SMTP_HOST"))


def send_each(config, messages: list[tuple[str, str, str]]) -> list[str | None]:
    """Send ``(to, subject, body)`` messages over one SMTP connection; returns, per message,
    None when the server accepted it, else why not. A server that cannot be reached (or drops
    the connection) fails the messages not yet sent with that reason."""
    results: list[str | None] = []
    if not messages:
        return results
    try:
        with smtplib.SMTP(
            config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=20
        ) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            for to, subject, body in messages:
                try:
                    message = EmailMessage()
                    message["From"] = config.get("SMTP_FROM") or "no-reply@localhost"
                    message["To"] = to  # a line break in it raises: no header injection
                    message["Subject"] = subject
                    message.set_content(body)
                    refused = smtp.send_message(message)
                except (ValueError, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                    results.append(f"{type(error).__name__}: {error}"[:500])
                else:
                    results.append(f"refused: {refused}"[:500] if refused else None)
    except OSError as error:  # smtplib.SMTPException derives from OSError
        reason = f"{type(error).__name__}: {error}"[:500]
        results += [reason] * (len(messages) - len(results))
    return results


def send_messages(config, messages: list[tuple[str, str, str]]) -> int:
    """Send ``(to, subject, body)`` messages over one SMTP connection; returns how many were
    accepted. Raises ``OSError`` when the server cannot be reached or refuses every message."""
    results = send_each(config, messages)
    failed = [r for r in results if r is not None]
    if messages and len(failed) == len(messages):
        raise OSError(failed[0])
    return len(results) - len(failed)
