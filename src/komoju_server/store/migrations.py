"""Schema migrations, numbered and applied in order, each in its own transaction.

A migration is a list of statements in a small common dialect: `{serial}` becomes the
backend's increasing integer primary key, `{bytes}` its binary type, `{event_data_id}` the
`data.id` of an event's JSON document. A statement only one backend needs is wrapped in
`Only`. Never edit a migration that has shipped; add the next one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Only:
    """A statement for one backend (`kind`: "sqlite" or "postgres") alone."""

    kind: str
    sql: str


Statement = str | Only

MIGRATIONS: list[tuple[int, str, list[Statement]]] = [
    (
        1,
        "merchants, keys, payments and events",
        [
            """CREATE TABLE merchants (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                clock_offset BIGINT NOT NULL DEFAULT 0,
                live_processor TEXT
            )""",
            """CREATE TABLE api_keys (
                key_hash TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL REFERENCES merchants (id),
                mode TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE payments (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                status TEXT NOT NULL,
                currency TEXT NOT NULL,
                external_order_num TEXT,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                pos BIGINT NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX payments_by_position ON payments (merchant_id, mode, pos)",
            "CREATE INDEX payments_by_status ON payments (merchant_id, mode, status, pos)",
            "CREATE INDEX payments_by_order ON payments (merchant_id, mode, external_order_num)"
            " WHERE external_order_num IS NOT NULL",
            "CREATE INDEX payments_by_time ON payments (merchant_id, mode, created_at)",
            """CREATE TABLE events (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                type TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                pos BIGINT NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX events_by_position ON events (merchant_id, mode, pos)",
            # How many rows each (merchant, mode) has in each append-only list: the newest row's
            # position. Any page of an unfiltered list is then one index range, however deep.
            """CREATE TABLE list_positions (
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                resource TEXT NOT NULL,
                n BIGINT NOT NULL,
                PRIMARY KEY (merchant_id, mode, resource)
            )""",
        ],
    ),
    (
        2,
        "tokens and customers, their payment details sealed by the vault",
        [
            # `secret` holds the vault-sealed details; it is erased (NULL) when the token is used,
            # and the row is deleted once the token has expired. `doc` is the public token.
            """CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                doc TEXT NOT NULL,
                secret {bytes}
            )""",
            "CREATE INDEX tokens_by_expiry ON tokens (expires_at)",
            # A deleted customer's row is removed, and its sealed details with it.
            """CREATE TABLE customers (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                doc TEXT NOT NULL,
                secret {bytes} NOT NULL
            )""",
            "CREATE INDEX customers_by_scope ON customers (merchant_id, mode, seq)",
            "CREATE INDEX customers_by_time ON customers (merchant_id, mode, created_at)",
        ],
    ),
    (
        3,
        "webhook endpoints, deliveries (the outbox) and their attempts",
        [
            # `secret` (the secret token that signs deliveries, sealed by the vault) is never
            # answered; `events` is `,type,type,` or NULL for every event. Deleted endpoints
            # keep their row for their deliveries.
            """CREATE TABLE webhook_endpoints (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                url TEXT NOT NULL,
                secret {bytes} NOT NULL,
                events TEXT,
                created_at BIGINT NOT NULL,
                deleted_at BIGINT
            )""",
            "CREATE INDEX webhook_endpoints_by_scope ON webhook_endpoints (merchant_id, mode, seq)",
            # One row per event per target URL. `next_attempt_at` (ms, real time) is when it is
            # due, or the end of the lease while a worker holds it under `claim`.
            """CREATE TABLE webhook_deliveries (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                endpoint_id TEXT,
                source TEXT NOT NULL,
                url TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT,
                claim TEXT,
                created_at BIGINT NOT NULL
            )""",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
            "CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (claim) WHERE claim IS NOT NULL",
            # Every index costs each event's write: only those the lists and the worker need.
            "CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, seq)"
            " WHERE endpoint_id IS NOT NULL",
            "CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id, seq)",
            """CREATE TABLE webhook_attempts (
                seq {serial},
                delivery_id TEXT NOT NULL,
                number INTEGER NOT NULL,
                status TEXT NOT NULL,
                response_code INTEGER,
                error TEXT,
                started_at BIGINT NOT NULL,
                duration_ms INTEGER,
                UNIQUE (delivery_id, number)
            )""",
        ],
    ),
    (
        4,
        "idempotency keys, timers (deadlines, recurring charges), subscriptions, sandbox maintenance",
        [
            # One row per key per merchant and mode. `owner` is the claim's random token;
            # `lease_until` (real time) bounds a claim whose server died before answering;
            # `created_at` is on the merchant's clock, `expires_at` in real time (for purging).
            """CREATE TABLE idempotency_keys (
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                idem_key TEXT NOT NULL,
                owner TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                lease_until BIGINT,
                expires_at BIGINT NOT NULL,
                status INTEGER,
                body {bytes},
                PRIMARY KEY (merchant_id, mode, idem_key)
            )""",
            "CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at)",
            # When something must happen to an object: `fire_at` on the merchant's clock,
            # `due_at` the same moment in real time (see store/timers.py).
            """CREATE TABLE timers (
                kind TEXT NOT NULL,
                ref_id TEXT NOT NULL,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                fire_at BIGINT NOT NULL,
                due_at BIGINT NOT NULL,
                PRIMARY KEY (kind, ref_id)
            )""",
            "CREATE INDEX timers_by_due ON timers (due_at)",
            "CREATE INDEX timers_by_merchant ON timers (merchant_id, mode, fire_at)",
            """CREATE TABLE subscriptions (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE INDEX subscriptions_by_scope ON subscriptions (merchant_id, mode, seq)",
            # A merchant's own maintenance switch for its test mode (POST /sandbox/maintenance).
            "ALTER TABLE merchants ADD COLUMN sandbox_maintenance INTEGER NOT NULL DEFAULT 0",
        ],
    ),
    (
        5,
        "processor intents and processor references",
        [
            # One row per call a processor is asked to make (charge, capture, refund, cancel,
            # top_up), keyed by the idempotency key given to the processor. Claimed `pending`
            # before the call, settled `succeeded` or `failed` after it; a pending intent whose
            # `lease_until` (real time) has passed is settled by recovery, asking again with
            # the same key. `request` is the call as JSON; `sealed` the secrets a new charge
            # needs to be asked again (vault-sealed, erased once settled); `result` the answer.
            """CREATE TABLE processor_intents (
                idem_key TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                payment_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                amount BIGINT NOT NULL,
                status TEXT NOT NULL,
                request TEXT NOT NULL,
                sealed {bytes},
                result TEXT,
                lease_until BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            "CREATE INDEX processor_intents_by_payment ON processor_intents (payment_id, status)",
            "CREATE INDEX processor_intents_pending ON processor_intents (status, lease_until)",
            # A remote processor's own id of a payment, to find ours from its webhooks.
            """CREATE TABLE processor_references (
                processor TEXT NOT NULL,
                reference TEXT NOT NULL,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                payment_id TEXT NOT NULL,
                PRIMARY KEY (processor, reference)
            )""",
            "CREATE INDEX processor_references_by_payment ON processor_references (payment_id)",
        ],
    ),
    (
        6,
        "sessions",
        [
            # A session (POST /sessions) as a document, like payments; `status` is pending,
            # completed or cancelled. Nothing secret is kept: the details a customer pays with
            # go to the payment (or the customer) made when it is paid.
            """CREATE TABLE sessions (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE INDEX sessions_by_scope ON sessions (merchant_id, mode, seq)",
        ],
    ),
    (
        7,
        "secure tokens (3-D Secure), their card details sealed by the vault",
        [
            # `status` is the token's verification_status; `doc` the token without its card
            # (amount, currency, return_url, brand, last four digits, how it authenticates).
            # `secret` holds the sealed card details: erased (NULL) when the token pays or
            # fails, and the row is deleted once the token has expired.
            """CREATE TABLE secure_tokens (
                id TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                doc TEXT NOT NULL,
                secret {bytes}
            )""",
            "CREATE INDEX secure_tokens_by_expiry ON secure_tokens (expires_at)",
        ],
    ),
    (
        8,
        "merchants in the order they were made; test keys kept sealed to be shown again",
        [
            # The order merchants were made in (the first one is the start banner's): set to
            # one more than the largest at insert. Merchants made before count as 0, oldest.
            "ALTER TABLE merchants ADD COLUMN number BIGINT NOT NULL DEFAULT 0",
            # A test key itself, sealed by the vault (bound to its key_hash), so that
            # `merchants list` and the start banner can show it again; NULL for live keys,
            # which are only ever shown once, and for keys made before this migration.
            "ALTER TABLE api_keys ADD COLUMN sealed {bytes}",
        ],
    ),
    (
        9,
        "the dashboard: sessions, recent requests, events by subject, webhook answers",
        [
            # A signed-in dashboard: the SHA-256 of the random value in its cookie (a database
            # read gives no session away), the key it signed in with (by digest: rotating the
            # keys ends the session), and when it ends (real time).
            """CREATE TABLE dashboard_sessions (
                id_hash TEXT PRIMARY KEY,
                key_hash TEXT NOT NULL,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )""",
            "CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at)",
            # The newest API requests of each merchant and mode: method, path (no query),
            # status, real time in ms, request id. Never a body, a header or a key.
            """CREATE TABLE request_log (
                seq {serial},
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                method TEXT NOT NULL,
                path TEXT NOT NULL,
                status INTEGER NOT NULL,
                request_id TEXT NOT NULL,
                at_ms BIGINT NOT NULL
            )""",
            "CREATE INDEX request_log_by_scope ON request_log (merchant_id, mode, seq)",
            # What an event is about (its data's id: a payment, customer, subscription or
            # webhook), so that a payment's page finds its events through an index.
            "ALTER TABLE events ADD COLUMN subject TEXT",
            "UPDATE events SET subject = {event_data_id}",
            "CREATE INDEX events_by_subject ON events (subject, seq)",
            # What an attempt sent and was answered: the signature header, and the start of the
            # receiver's answer (as text; see webhooks/worker.py).
            "ALTER TABLE webhook_attempts ADD COLUMN signature TEXT",
            "ALTER TABLE webhook_attempts ADD COLUMN response_body TEXT",
        ],
    ),
    (
        10,
        "the event log filtered by type and by time",
        [
            # GET /events?type=...: a page of one type's events is one index range in list
            # order, however many events of other types there are.
            "CREATE INDEX events_by_type ON events (merchant_id, mode, type, pos)",
            "CREATE INDEX events_by_time ON events (merchant_id, mode, created_at)",
        ],
    ),
    (
        11,
        "webhook attempts say only 'could not connect' or 'answered HTTP N'",
        [
            # Attempts recorded before said why a connection failed ("Connection refused", a
            # timeout...), which tells an open port from a closed one: they now say what new
            # attempts say (webhooks/worker.py).
            "UPDATE webhook_attempts SET error = 'not sent: could not connect'"
            " WHERE error LIKE 'not sent: %' AND error NOT LIKE 'not sent: could not connect%'"
            " AND error NOT LIKE 'not sent: the webhook''s secret token%'",
            "UPDATE webhook_attempts SET error = 'could not connect'"
            " WHERE status = 'failed' AND response_code IS NULL AND error IS NOT NULL"
            " AND error NOT LIKE 'not sent: %' AND error <> 'could not connect'",
        ],
    ),
    (
        12,
        "PostgreSQL numbers appended rows after their commit",
        [
            # Inserted unnumbered, numbered once committed: one merchant's writers no longer
            # queue on its list's counter row (store/listing.py). SQLite still numbers at once.
            Only("postgres", "ALTER TABLE payments ALTER COLUMN pos DROP NOT NULL"),
            Only("postgres", "ALTER TABLE events ALTER COLUMN pos DROP NOT NULL"),
        ],
    ),
    (
        13,
        "PostgreSQL numbers a list's tail in one round trip",
        [
            # What `PostgresStore.number` did in a transaction of seven round trips (BEGIN, SET,
            # four statements, COMMIT), as one function call: the list's counter row is then
            # locked for the time the database takes to number the tail, not for four round trips.
            # The steps, and why, are those of store/listing.py. Each statement of a VOLATILE
            # function sees what committed before it began, as each statement of a READ
            # COMMITTED transaction does, so the tail is still read after the lock was granted.
            Only(
                "postgres",
                """CREATE FUNCTION number_list(list TEXT, merchant TEXT, list_mode TEXT) RETURNS BIGINT
                LANGUAGE plpgsql VOLATILE AS $$
                DECLARE
                    numbered BIGINT;
                    added BIGINT;
                BEGIN
                    -- Losing a numbering to a crash loses nothing (the rows stay listed, in the
                    -- tail, and are numbered again), so its commit need not wait for an fsync.
                    PERFORM set_config('synchronous_commit', 'off', true);
                    INSERT INTO list_positions (merchant_id, mode, resource, n) VALUES (merchant, list_mode, list, 0)
                        ON CONFLICT (merchant_id, mode, resource) DO NOTHING;
                    SELECT n INTO numbered FROM list_positions
                        WHERE merchant_id = merchant AND mode = list_mode AND resource = list FOR UPDATE;
                    IF numbered IS NULL THEN  -- the list was erased (a sandbox reset) in between
                        RETURN 0;
                    END IF;
                    EXECUTE format(
                        'UPDATE %1$I SET pos = $1 + tail.k FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) AS k'
                        ' FROM %1$I WHERE merchant_id = $2 AND mode = $3 AND pos IS NULL) tail'
                        ' WHERE %1$I.seq = tail.seq',
                        list
                    ) USING numbered, merchant, list_mode;
                    GET DIAGNOSTICS added = ROW_COUNT;
                    IF added > 0 THEN
                        UPDATE list_positions SET n = n + added
                            WHERE merchant_id = merchant AND mode = list_mode AND resource = list;
                    END IF;
                    RETURN added;
                END
                $$""",
            ),
        ],
    ),
]

LATEST = max(version for version, _name, _statements in MIGRATIONS)

CREATE_LEDGER = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"


def rendered(statements: list[Statement], kind: str) -> list[str]:
    """A migration's statements for the backend `kind`, in its dialect."""
    return [
        render(statement, kind) if isinstance(statement, str) else statement.sql
        for statement in statements
        if isinstance(statement, str) or statement.kind == kind
    ]


def render(statement: str, kind: str) -> str:
    if kind == "sqlite":
        # Not AUTOINCREMENT: it updates sqlite_sequence, one more page, at every insert; `seq` only
        # orders rows, and a rowid is reused only after the newest row is deleted.
        return statement.format(
            serial="INTEGER PRIMARY KEY", bytes="BLOB", event_data_id="json_extract(doc, '$.data.id')"
        )
    return statement.format(
        serial="BIGSERIAL PRIMARY KEY", bytes="BYTEA", event_data_id="(doc::jsonb -> 'data' ->> 'id')"
    )


def pending(applied: set[int], upto: int | None = None) -> list[tuple[int, str, list[Statement]]]:
    return [m for m in MIGRATIONS if m[0] not in applied and (upto is None or m[0] <= upto)]
