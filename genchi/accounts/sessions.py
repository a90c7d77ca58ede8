"""Sessions kept in the database under a hash of their key (SESSION_ENGINE).

The cookie carries the session key; the row is stored under SHA-256 of it (truncated to
the 40 characters of Django's `session_key` column: 160 bits). Someone who reads the
database (a backup, a copy of the SQLite file) learns no key a browser could present:
a row's stored value sent as the cookie is hashed again and finds nothing.
"""

from __future__ import annotations

import hashlib

from django.contrib.sessions.backends import db


def stored_key(session_key: str) -> str:
    """What the database holds for the session whose cookie is `session_key`."""
    digest = hashlib.sha256(b"genchi-session\x00" + session_key.encode()).hexdigest()
    return digest[:40]


class SessionStore(db.SessionStore):
    """Django's database store, with every row looked up by the hash of the key."""

    def _get_session_from_db(self):
        key = self.session_key
        if key is None:
            return None
        self._session_key = stored_key(key)
        try:
            return super()._get_session_from_db()
        finally:
            # The parent forgets a key it did not find (None); else keep the cookie's key.
            if self._session_key is not None:
                self._session_key = key

    async def _aget_session_from_db(self):
        key = self.session_key
        if key is None:
            return None
        self._session_key = stored_key(key)
        try:
            return await super()._aget_session_from_db()
        finally:
            if self._session_key is not None:
                self._session_key = key

    def exists(self, session_key):
        return super().exists(stored_key(session_key))

    async def aexists(self, session_key):
        return await super().aexists(stored_key(session_key))

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    async def acreate_model_instance(self, data):
        row = await super().acreate_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    def delete(self, session_key=None):
        session_key = session_key if session_key is not None else self.session_key
        if session_key is not None:
            super().delete(stored_key(session_key))

    async def adelete(self, session_key=None):
        session_key = session_key if session_key is not None else self.session_key
        if session_key is not None:
            await super().adelete(stored_key(session_key))
