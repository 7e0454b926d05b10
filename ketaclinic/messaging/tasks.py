"""Background delivery of queued messages (django-tasks; the database backend in production and
the demo, run by ``manage.py db_worker``)."""

from __future__ import annotations

from django_tasks import task

from ketaclinic.messaging.actions import deliver_message


@task()
def deliver_message_task(message_id: int) -> str:
    """Send one message; a transient failure queues the next attempt itself, with backoff."""
    return deliver_message(message_id=message_id)
