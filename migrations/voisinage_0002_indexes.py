from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T15:51:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"


async def forwards():
    # A separate migration because Piccolo runs raw steps before it creates
    # the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def composite_indexes():
        # Piccolo declares single-column indexes only. Every list the app shows
        # is read through one of these, newest first, by keyset: the cost of a
        # page stays flat however large the table grows.
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in (
            "CREATE INDEX IF NOT EXISTS post_feed_idx ON post (neighbourhood, created_at, id)",
            "CREATE INDEX IF NOT EXISTS post_kind_feed_idx ON post (neighbourhood, kind, created_at, id)",
            "CREATE INDEX IF NOT EXISTS post_pinned_idx ON post (neighbourhood, pinned)",
            "CREATE INDEX IF NOT EXISTS post_author_idx ON post (author, created_at, id)",
            "CREATE INDEX IF NOT EXISTS neighbourhood_bbox_idx ON neighbourhood (min_lat, max_lat, min_lon, max_lon)",
            "CREATE INDEX IF NOT EXISTS reply_thread_idx ON reply (post, created_at, id)",
            "CREATE INDEX IF NOT EXISTS message_thread_idx ON message (conversation, created_at, id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS conversation_pair_idx ON conversation (user_a, user_b, post)",
            "CREATE INDEX IF NOT EXISTS conversation_a_idx ON conversation (user_a, last_message_at)",
            "CREATE INDEX IF NOT EXISTS conversation_b_idx ON conversation (user_b, last_message_at)",
            'CREATE UNIQUE INDEX IF NOT EXISTS signup_once_idx ON signup (event, "user")',
            "CREATE INDEX IF NOT EXISTS signup_queue_idx ON signup (event, status, position)",
            'CREATE INDEX IF NOT EXISTS notification_inbox_idx ON notification ("user", created_at, id)',
            'CREATE INDEX IF NOT EXISTS notification_unread_idx ON notification ("user", read_at)',
            "CREATE INDEX IF NOT EXISTS push_outbox_idx ON push_delivery (status, next_attempt_at)",
            'CREATE UNIQUE INDEX IF NOT EXISTS moderator_once_idx ON moderator_assignment ("user", neighbourhood)',
            "CREATE INDEX IF NOT EXISTS report_queue_idx ON report (neighbourhood, status, created_at, id)",
            "CREATE INDEX IF NOT EXISTS report_target_idx ON report (target_type, target_id)",
            "CREATE INDEX IF NOT EXISTS modlog_idx ON moderation_action (neighbourhood, created_at, id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS block_once_idx ON block (blocker, blocked)",
            "CREATE INDEX IF NOT EXISTS block_blocked_idx ON block (blocked)",
            "CREATE UNIQUE INDEX IF NOT EXISTS vouch_once_idx ON vouch (voucher, vouchee)",
            "CREATE INDEX IF NOT EXISTS loan_due_idx ON loan (due_on, returned_at)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(composite_indexes)

    return manager
