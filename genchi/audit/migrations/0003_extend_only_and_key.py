"""The audit log accepts only a row that extends the chain (D3), and gets its key.

Migration 0002 refuses UPDATE and DELETE. That left INSERT open: SQLite's `REPLACE INTO`
(INSERT OR REPLACE) deletes the row it collides with without firing the delete trigger,
and a plain INSERT could add a forged row anywhere. Now an insert must carry the next seq
and the current head's hash as its `prev_hash`, and may not collide with any row (which
leaves REPLACE nothing to delete), on SQLite and PostgreSQL.

An installation that already has entries gets its audit key file here: those entries keep
their unkeyed hashes, and the first keyed entry pins them (auditkey.py).
"""

from django.db import migrations

GENESIS = "0" * 64

SQLITE_UP = [
    f"""CREATE TRIGGER audit_auditentry_extend_only BEFORE INSERT ON audit_auditentry
       BEGIN
         SELECT RAISE(ABORT, 'audit log: an insert must extend the chain')
         WHERE NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_auditentry)
            OR NEW.prev_hash IS NOT COALESCE(
                 (SELECT entry_hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1),
                 '{GENESIS}')
            OR EXISTS (SELECT 1 FROM audit_auditentry
                       WHERE id = NEW.id OR entry_hash = NEW.entry_hash);
       END""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_auditentry_extend_only"]
POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION audit_require_extension() RETURNS trigger AS $$
       DECLARE
         head_seq bigint;
         head_hash varchar;
       BEGIN
         SELECT seq, entry_hash INTO head_seq, head_hash
           FROM audit_auditentry ORDER BY seq DESC LIMIT 1;
         IF NOT FOUND THEN
           head_seq := 0;
           head_hash := '{GENESIS}';
         END IF;
         IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
           RAISE EXCEPTION USING MESSAGE = 'audit log: an insert must extend the chain (seq '
             || NEW.seq || ', head ' || head_seq || ')';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_auditentry_extend_only BEFORE INSERT
       ON audit_auditentry FOR EACH ROW EXECUTE FUNCTION audit_require_extension()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_auditentry_extend_only ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_require_extension()",
]


def install(apps, schema_editor):
    statements = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    for sql in statements:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    statements = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    for sql in statements:
        schema_editor.execute(sql)


def key_existing_log(apps, schema_editor):
    """Entries written before the key stay unkeyed; the key starts after them."""
    from genchi.audit.auditkey import audit_key_path, create_audit_key

    entry = apps.get_model("audit", "AuditEntry")
    last = entry.objects.using(schema_editor.connection.alias).order_by("-seq").first()
    if last is not None and not audit_key_path().exists():
        create_audit_key(keyed_from=last.seq + 1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [
        migrations.RunPython(install, uninstall),
        migrations.RunPython(key_existing_log, migrations.RunPython.noop),
    ]
