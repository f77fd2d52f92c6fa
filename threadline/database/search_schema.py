"""The search index's DDL (revision 0007): tables, triggers and, on PostgreSQL, the language function.

Kept out of ``models.py`` because it differs by database (an FTS5 virtual table on SQLite, a ``tsvector``
column on PostgreSQL) and because no code but ``repositories/search.py`` reads it, and none writes it:
triggers keep it in step with ``messages`` and ``conversations`` inside the writing transaction, so the
hot paths carry no search code at all. Revision 0007 runs these statements; a change to them needs a new
revision. The benchmark (B8) also drops and restores the triggers to measure what they cost.

Markers: snippets mark matched words with U+FDD0 and U+FDD1 (noncharacters), which the indexed copy of the
text never contains (SQLite strips them when indexing, PostgreSQL when highlighting), so a message cannot
forge a highlight.
"""

from __future__ import annotations

import re

SEARCH_TABLE_PREFIX = "search_"
"""Every table of the index starts so (FTS5's shadow tables too): model comparisons leave them out."""

MARK_START = "\ufdd0"
MARK_END = "\ufdd1"

_LANGUAGE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# -- SQLite ------------------------------------------------------------------------------------------

_SQLITE_CLEAN = "replace(replace({}, char(64976), ''), char(64977), '')"  # U+FDD0, U+FDD1


def _clean(expression: str) -> str:
    return _SQLITE_CLEAN.format(expression)


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER search_message_added AFTER INSERT ON messages BEGIN
        INSERT INTO search_documents (workspace_id, conversation_id, message_id)
            SELECT workspace_id, NEW.conversation_id, NEW.id FROM conversations
            WHERE id = NEW.conversation_id;
        INSERT INTO search_index (rowid, body) VALUES (last_insert_rowid(), {_clean("NEW.content")});
    END""",
    f"""CREATE TRIGGER search_message_edited AFTER UPDATE OF content ON messages
        WHEN NEW.content IS NOT OLD.content BEGIN
        UPDATE search_index SET body = {_clean("NEW.content")}
            WHERE rowid = (SELECT id FROM search_documents WHERE message_id = NEW.id);
    END""",
    f"""CREATE TRIGGER search_conversation_added AFTER INSERT ON conversations BEGIN
        INSERT INTO search_documents (workspace_id, conversation_id, message_id)
            VALUES (NEW.workspace_id, NEW.id, NULL);
        INSERT INTO search_index (rowid, body) VALUES (last_insert_rowid(), {_clean("NEW.title")});
    END""",
    f"""CREATE TRIGGER search_conversation_renamed AFTER UPDATE OF title ON conversations
        WHEN NEW.title IS NOT OLD.title BEGIN
        UPDATE search_index SET body = {_clean("NEW.title")} WHERE rowid = (
            SELECT id FROM search_documents WHERE conversation_id = NEW.id AND message_id IS NULL
        );
    END""",
    # Messages and conversations that go (by a deletion or its cascade) take their documents with them
    # through the foreign keys; a document that goes takes its words.
    """CREATE TRIGGER search_document_removed AFTER DELETE ON search_documents BEGIN
        DELETE FROM search_index WHERE rowid = OLD.id;
    END""",
)
SQLITE_TRIGGER_NAMES = (
    "search_message_added",
    "search_message_edited",
    "search_conversation_added",
    "search_conversation_renamed",
    "search_document_removed",
)


SQLITE_BACKFILL = (
    # Existing data, oldest first: ids follow the order things were written, as they will from now on.
    """INSERT INTO search_documents (workspace_id, conversation_id, message_id)
            SELECT workspace_id, conversation_id, message_id FROM (
                SELECT workspace_id, id AS conversation_id, NULL AS message_id, created_at, 0 AS seq
                    FROM conversations
                UNION ALL
                SELECT c.workspace_id, m.conversation_id, m.id, m.created_at, m.seq
                    FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
            ) ORDER BY created_at, conversation_id, seq""",
    f"""INSERT INTO search_index (rowid, body)
            SELECT d.id, {_clean("coalesce(m.content, c.title)")}
            FROM search_documents AS d
            JOIN conversations AS c ON c.id = d.conversation_id
            LEFT JOIN messages AS m ON m.id = d.message_id""",
)
"""Index every message and title stored, oldest first (the index being empty)."""


def sqlite_upgrade() -> list[str]:
    return [
        """CREATE TABLE search_documents (
            id INTEGER PRIMARY KEY,
            workspace_id CHAR(32) NOT NULL,
            conversation_id CHAR(32) NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_id CHAR(32) UNIQUE REFERENCES messages (id) ON DELETE CASCADE
        )""",
        "CREATE INDEX ix_search_documents_conversation ON search_documents (conversation_id, message_id)",
        "CREATE VIRTUAL TABLE search_index USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2')",
        *SQLITE_BACKFILL,
        *SQLITE_TRIGGERS,
    ]


SQLITE_DOWNGRADE = (
    *(f"DROP TRIGGER {name}" for name in SQLITE_TRIGGER_NAMES),
    "DROP TABLE search_index",
    "DROP INDEX ix_search_documents_conversation",
    "DROP TABLE search_documents",
)

# -- PostgreSQL --------------------------------------------------------------------------------------

POSTGRES_TRIGGERS = (
    """CREATE TRIGGER search_messages_added AFTER INSERT ON messages
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION threadline_search_messages_added()""",
    """CREATE TRIGGER search_messages_edited AFTER UPDATE ON messages
        REFERENCING OLD TABLE AS before NEW TABLE AS after
        FOR EACH STATEMENT EXECUTE FUNCTION threadline_search_messages_edited()""",
    """CREATE TRIGGER search_conversations_added AFTER INSERT ON conversations
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION threadline_search_conversations_added()""",
    """CREATE TRIGGER search_conversations_renamed AFTER UPDATE ON conversations
        REFERENCING OLD TABLE AS before NEW TABLE AS after
        FOR EACH STATEMENT EXECUTE FUNCTION threadline_search_conversations_renamed()""",
)
POSTGRES_TRIGGER_NAMES = (
    ("search_messages_added", "messages"),
    ("search_messages_edited", "messages"),
    ("search_conversations_added", "conversations"),
    ("search_conversations_renamed", "conversations"),
)
_POSTGRES_FUNCTIONS = (
    # One statement per INSERT, however many rows it writes: a group-commit batch is indexed at once.
    """CREATE FUNCTION threadline_search_messages_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_documents (workspace_id, conversation_id, message_id, document)
        SELECT c.workspace_id, a.conversation_id, a.id, to_tsvector(threadline_search_config(), a.content)
        FROM added AS a JOIN conversations AS c ON c.id = a.conversation_id
        ORDER BY a.conversation_id, a.seq;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION threadline_search_messages_edited() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_documents AS d SET document = to_tsvector(threadline_search_config(), a.content)
        FROM after AS a JOIN before AS b ON b.id = a.id
        WHERE d.message_id = a.id AND a.content IS DISTINCT FROM b.content;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION threadline_search_conversations_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_documents (workspace_id, conversation_id, message_id, document)
        SELECT a.workspace_id, a.id, NULL, to_tsvector(threadline_search_config(), a.title) FROM added AS a;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION threadline_search_conversations_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_documents AS d SET document = to_tsvector(threadline_search_config(), a.title)
        FROM after AS a JOIN before AS b ON b.id = a.id
        WHERE d.conversation_id = a.id AND d.message_id IS NULL AND a.title IS DISTINCT FROM b.title;
        RETURN NULL;
    END $$""",
)


def postgres_language_function(language: str) -> str:
    """The function naming the text-search configuration every document and query uses."""
    if not _LANGUAGE.match(language):
        raise ValueError(f"not a text-search configuration name: {language!r}")
    return (
        "CREATE OR REPLACE FUNCTION threadline_search_config() RETURNS regconfig "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '{language}'::regconfig $$"
    )


POSTGRES_REBUILD = (
    """UPDATE search_documents AS d SET document = to_tsvector(threadline_search_config(), m.content)
        FROM messages AS m WHERE m.id = d.message_id""",
    """UPDATE search_documents AS d SET document = to_tsvector(threadline_search_config(), c.title)
        FROM conversations AS c WHERE c.id = d.conversation_id AND d.message_id IS NULL""",
)
"""Every document again, after the language changed."""


POSTGRES_BACKFILL = (
    """INSERT INTO search_documents (workspace_id, conversation_id, message_id, document)
            SELECT workspace_id, conversation_id, message_id, to_tsvector(threadline_search_config(), body)
            FROM (
                SELECT workspace_id, id AS conversation_id, NULL::uuid AS message_id, title AS body,
                    created_at, 0 AS seq
                    FROM conversations
                UNION ALL
                SELECT c.workspace_id, m.conversation_id, m.id, m.content, m.created_at, m.seq
                    FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
            ) AS existing ORDER BY created_at, conversation_id, seq""",
)
"""Index every message and title stored, oldest first (the index being empty)."""
POSTGRES_WORDS_INDEX = "CREATE INDEX ix_search_documents_words ON search_documents USING gin (document)"


def postgres_upgrade(language: str) -> list[str]:
    return [
        postgres_language_function(language),
        """CREATE TABLE search_documents (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            workspace_id uuid NOT NULL,
            conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_id uuid UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
            document tsvector NOT NULL
        )""",
        "CREATE INDEX ix_search_documents_conversation ON search_documents (conversation_id, message_id)",
        *POSTGRES_BACKFILL,
        POSTGRES_WORDS_INDEX,
        *_POSTGRES_FUNCTIONS,
        *POSTGRES_TRIGGERS,
    ]


POSTGRES_DOWNGRADE = (
    *(f"DROP TRIGGER {name} ON {table}" for name, table in POSTGRES_TRIGGER_NAMES),
    "DROP TABLE search_documents",
    "DROP FUNCTION threadline_search_messages_added()",
    "DROP FUNCTION threadline_search_messages_edited()",
    "DROP FUNCTION threadline_search_conversations_added()",
    "DROP FUNCTION threadline_search_conversations_renamed()",
    "DROP FUNCTION threadline_search_config()",
)
