-- One-off links (magic logins) that have been used, kept until they would have expired anyway.
CREATE TABLE IF NOT EXISTS used_links (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
