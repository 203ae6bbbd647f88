-- Every login, whatever strategy keeps it: what "Your sessions" lists and "log out everywhere"
-- ends. The handle is the login's, not a credential: knowing it opens nothing.
CREATE TABLE IF NOT EXISTS user_sessions (
    handle TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    strategy TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    instance TEXT NOT NULL,
    browser TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS user_sessions_by_user ON user_sessions (user_id);
