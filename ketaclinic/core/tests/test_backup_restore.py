"""The restore procedure in docs/deployment.md works: a backup restored into an empty database
passes verify_audit, and a tampered restore fails it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from ketaclinic.core.testing import World


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "verify_audit"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _tamper(run_sql: object) -> None:
    assert callable(run_sql)
    run_sql("UPDATE core_auditevent SET reason = 'rewritten' WHERE id = (SELECT MIN(id) + 2 FROM core_auditevent)")


def test_sqlite_backup_restores_with_an_intact_audit_chain(committed_world: World, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite backup path")
    restored = tmp_path / "restored.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(restored) as dest:
        connection.connection.backup(dest)
    ok = _verify(f"sqlite:///{restored}")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    with sqlite3.connect(restored) as db:
        db.execute("DROP TRIGGER core_auditevent_no_update")

        def run(sql: str) -> None:
            db.execute(sql)

        _tamper(run)
    broken = _verify(f"sqlite:///{restored}")
    assert broken.returncode == 1
    assert "BROKEN" in broken.stderr


@pytest.mark.postgres
def test_postgres_dump_restores_with_an_intact_audit_chain(committed_world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL backup path (make test-postgres)")
    params = connection.settings_dict
    base = ["-h", params["HOST"] or "127.0.0.1", "-p", str(params["PORT"] or 5432), "-U", params["USER"] or "postgres"]
    target = f"restore_{uuid.uuid4().hex[:8]}"
    dump = subprocess.run(["pg_dump", *base, "--format=custom", params["NAME"]], capture_output=True, check=True)  # noqa: S603,S607
    subprocess.run(["createdb", *base, target], check=True)  # noqa: S603,S607
    try:
        subprocess.run(["pg_restore", *base, "--no-owner", "--dbname", target], input=dump.stdout, check=True)  # noqa: S603,S607
        url = f"postgres://{base[5]}@{base[1]}:{base[3]}/{target}"
        ok = _verify(url)
        assert ok.returncode == 0, ok.stderr
        assert "intact" in ok.stdout

        def run(sql: str) -> None:
            subprocess.run(["psql", *base, "-d", target, "-c", sql], check=True, capture_output=True)  # noqa: S603,S607

        run("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
        _tamper(run)
        broken = _verify(url)
        assert broken.returncode == 1
        assert "BROKEN" in broken.stderr
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", target], check=False)  # noqa: S603,S607
