-- JWT bookkeeping: logged-out token ids, and single-use refresh tokens by family.
CREATE TABLE IF NOT EXISTS jwt_denylist (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    subject TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    revoked BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON refresh_tokens (family);
